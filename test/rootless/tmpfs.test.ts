import { mkdir, readdir, statfs, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { createScratch, settle } from '../../src/index.js'
import { readMountinfo } from '../../src/mount/mountinfo.js'
import { TMPFS_MAGIC } from '../../src/mount/tmpfs.js'
import { inUserNamespace } from '../../src/proc.js'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'
import { REPO } from './plain-user.js'

const mayMount = isRoot || inUserNamespace()
const why = mayMount ? undefined : "needs root or 'scratchfs run' to mount overlays and a tmpfs"

/** A golden and a scratch root that lives on an overlay mount, like a container's /tmp. */
async function rootOnOverlay() {
  const base = await tempDir('tmpfs')
  await writeTree(join(base, 'golden'), { 'a.txt': 'golden', dir: { 'b.txt': 'b' } })
  await Promise.all(['lower', 'upper', 'work', 'ovl'].map((name) => mkdir(join(base, name))))
  const options = `lowerdir=lower,upperdir=upper,workdir=work${inUserNamespace() ? ',userxattr' : ''}`
  await execa('mount', ['-t', 'overlay', '-o', options, 'sfs-test-ovl', 'ovl'], { cwd: base })
  const root = join(base, 'ovl', 'root')
  await mkdir(root)
  return { base, golden: join(base, 'golden'), root }
}

/** The statfs type under a view's upper link: where its writes really go. */
async function upperFs(scratchPath: string): Promise<number> {
  return (await statfs(join(dirname(scratchPath), 'upper'))).type
}

describe.skipIf(why)(`uppers on tmpfs${why ? ` (skipped: ${why})` : ''}`, () => {
  test('a scratch root on an overlay takes the tmpfs route and still gets overlay views', async () => {
    const space = await rootOnOverlay()
    expect((await statfs(space.root)).type).toBe(0x794c7630)

    const scratch = await createScratch({ golden: space.golden, root: space.root })
    expect(scratch.backend).toBe('overlay')
    expect(await upperFs(scratch.path)).toBe(TMPFS_MAGIC)
    await writeFile(join(scratch.path, 'a.txt'), 'changed')
    expect(await scratch.changes()).toEqual([{ kind: 'modified', path: 'a.txt' }])

    // One tmpfs for the process and root, named so mountinfo finds it.
    const tmpfs = (await readMountinfo()).filter(
      (entry) => entry.fstype === 'tmpfs' && entry.target.startsWith(`${space.root}/`),
    )
    expect(tmpfs).toHaveLength(1)
    expect(tmpfs[0]?.target).toMatch(/\/scratchfs-tmpfs-[^/]+\/mnt$/)
    expect(tmpfs[0]?.source).toBe('scratchfs')

    const second = await createScratch({ golden: space.golden, root: space.root })
    expect(await upperFs(second.path)).toBe(TMPFS_MAGIC)
    await Promise.all([scratch.dispose(), second.dispose()])
    await settle()
    // The views' uppers are gone from the tmpfs; the tmpfs stays for the next view.
    expect(await readdir(tmpfs[0]?.target ?? '')).toEqual([])
  })

  test("upper: 'tmpfs' moves uppers of a root on disk to a tmpfs", async () => {
    const base = await tempDir('tmpfs')
    await writeTree(join(base, 'golden'), { 'a.txt': 'golden' })
    await using scratch = await createScratch({
      golden: join(base, 'golden'),
      root: join(base, 'root'),
      upper: 'tmpfs',
      tmpfsSize: '64m',
    })
    expect(await upperFs(scratch.path)).toBe(TMPFS_MAGIC)
    const tmpfs = (await readMountinfo()).find(
      (entry) => entry.fstype === 'tmpfs' && entry.target.startsWith(join(base, 'root')),
    )
    expect(tmpfs?.superOptions).toMatch(/size=65536k/)
  })

  test('the tmpfs is unmounted and deleted when its process is done with it', async () => {
    const space = await rootOnOverlay()
    const script = `
      const { createScratch } = await import(${JSON.stringify(join(REPO, 'dist/index.js'))})
      const scratch = await createScratch({ golden: process.argv[1], root: process.argv[2] })
      const { statfsSync } = await import('node:fs')
      console.log(statfsSync(scratch.path + '/../upper').type)
      await scratch.dispose()`
    const result = await execa('node', [
      '--input-type=module',
      '-e',
      script,
      space.golden,
      space.root,
    ])
    expect(Number(result.stdout)).toBe(TMPFS_MAGIC)
    expect(await mountsBelow(space.root)).toEqual([])
    expect(await readdir(space.root)).toEqual([])
  })
})
