import { existsSync } from 'node:fs'
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, utimes } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { RECORD, writeRecord } from '../../src/root.js'
import { sweep } from '../../src/sweep.js'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'
import { plainUser } from '../rootless/plain-user.js'
import { childWithViews } from './child.js'

async function setup() {
  const base = await tempDir('sweep')
  const golden = join(base, 'golden')
  const root = join(base, 'root')
  await writeTree(golden, { 'a.txt': 'a', dir: { 'b.txt': 'b' } })
  await mkdir(root)
  return { base, golden, root }
}

const deadOwner = { pid: 2 ** 22 + 7, start: '1' }

describe.skipIf(!isRoot)('sweep (needs root to mount)', () => {
  test('a SIGKILLed process leaves mounts the sweep removes completely, nested ones first', async () => {
    const { golden, root } = await setup()
    const child = await childWithViews(root, golden, 2, { nested: true })
    expect(await mountsBelow(root)).toHaveLength(4)

    child.process.kill('SIGKILL')
    await child.process
    const swept = await sweep(root)

    expect(swept.map((entry) => entry.why)).toEqual([
      `owner pid ${child.pid} is gone`,
      `owner pid ${child.pid} is gone`,
    ])
    expect(await mountsBelow(root)).toEqual([])
    for (const view of child.views) expect(existsSync(dirname(view))).toBe(false)
  })

  test('a SIGKILLed process leaves its view made ahead of time, and the sweep removes it too', async () => {
    const { golden, root } = await setup()
    const child = await childWithViews(root, golden, 2, { pool: true })
    expect(await mountsBelow(root)).toHaveLength(3)

    child.process.kill('SIGKILL')
    await child.process
    const swept = await sweep(root)

    expect(swept.map((entry) => entry.dir).sort()).toEqual(
      [...child.views, child.ready ?? ''].map((view) => dirname(view)).sort(),
    )
    expect(await mountsBelow(root)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('a SIGKILLed process with uppers on a tmpfs it mounted: views first, then the tmpfs, all gone', async () => {
    const { golden, root } = await setup()
    const child = await childWithViews(root, golden, 2, { upper: 'tmpfs' })
    const mounts = await mountsBelow(root)
    expect(mounts.filter((target) => target.endsWith('/merged'))).toHaveLength(2)
    expect(mounts.length).toBeGreaterThan(2)

    child.process.kill('SIGKILL')
    await child.process
    const swept = await sweep(root)

    expect(swept.length).toBe(3)
    expect(swept.every((entry) => entry.heldBy === undefined)).toBe(true)
    expect(await mountsBelow(root)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('views of live owners are left alone, also by a concurrent sweep', async () => {
    const { golden, root } = await setup()
    const view = await createScratch({ golden, root, backend: 'overlay' })

    const swept = await Promise.all([sweep(root), sweep(root, { graceMs: 0 })])

    expect(swept).toEqual([[], []])
    expect(await readFile(join(view.path, 'a.txt'), 'utf8')).toBe('a')
    await view.dispose()
  })

  test('a dead owner whose view a live process still holds is detached, not deleted, until it exits', async () => {
    const { golden, root } = await setup()
    const child = await childWithViews(root, golden)
    const [merged] = child.views as [string]
    const holder = execa('sleep', ['60'], { cwd: merged, reject: false })
    child.process.kill('SIGKILL')
    await child.process

    const first = await sweep(root)
    expect(first).toHaveLength(1)
    expect(first[0]?.heldBy).toMatch(new RegExp(`pid ${holder.pid} \\(sleep 60\\)`))
    expect(await mountsBelow(root)).toEqual([])
    expect(existsSync(join(dirname(merged), 'upper', 'written-by-child'))).toBe(true)
    expect(await sweep(root)).toEqual([])

    holder.kill('SIGKILL')
    await holder
    const second = await sweep(root)
    expect(second.map((entry) => entry.why)).toEqual([
      'detached earlier; no process holds it any more',
    ])
    expect(existsSync(dirname(merged))).toBe(false)
  })
})

describe('sweep without mounts', () => {
  test('dry run lists what would go and removes nothing', async () => {
    const { root } = await setup()
    const dir = join(root, 'scratchfs-dead-abc123')
    await mkdir(join(dir, 'upper'), { recursive: true })
    await writeRecord(dir, {
      owner: deadOwner,
      run: deadOwner,
      backend: 'copy',
      label: 'dead',
      created: 0,
    })

    expect(await sweep(root, { dryRun: true })).toEqual([
      { dir, why: `owner pid ${deadOwner.pid} is gone` },
    ])
    expect(existsSync(join(dir, 'upper'))).toBe(true)
  })

  test('a half-made view (no record yet) goes once it is older than the grace time', async () => {
    const { root } = await setup()
    const fresh = join(root, 'scratchfs-fresh-aaaaaa')
    const old = join(root, 'scratchfs-old-bbbbbb')
    await mkdir(fresh)
    await mkdir(old)
    await utimes(old, new Date(0), new Date(0))

    expect(await sweep(root)).toEqual([{ dir: old, why: 'half-made: no owner record' }])
    expect(existsSync(fresh)).toBe(true)
    expect(existsSync(old)).toBe(false)
  })

  test('kept views go once their run is over; kept: false leaves them', async () => {
    const { root } = await setup()
    const dir = join(root, 'scratchfs-kept-cccccc')
    await mkdir(join(dir, 'kept'), { recursive: true })
    const self = { pid: process.pid, start: undefined }
    await writeRecord(dir, {
      owner: deadOwner,
      run: deadOwner,
      backend: 'overlay',
      label: 'k',
      created: 0,
      kept: join(dir, 'kept'),
    })
    const live = join(root, 'scratchfs-kept-dddddd')
    await mkdir(live)
    await writeRecord(live, {
      owner: deadOwner,
      run: self,
      backend: 'overlay',
      label: 'k',
      created: 0,
      kept: live,
    })

    expect(await sweep(root, { kept: false })).toEqual([])
    expect((await sweep(root)).map((entry) => entry.dir)).toEqual([dir])
    expect(existsSync(live)).toBe(true)
  })

  test('keptBefore leaves the kept views of runs that ended after that time', async () => {
    const { root } = await setup()
    const kept = async (name: string, at: number) => {
      const dir = join(root, name)
      await mkdir(join(dir, 'kept'), { recursive: true })
      await writeRecord(dir, {
        owner: deadOwner,
        run: deadOwner,
        backend: 'copy',
        label: 'k',
        created: 0,
        kept: join(dir, 'kept'),
      })
      await utimes(join(dir, RECORD), new Date(at), new Date(at))
      return dir
    }
    const started = Date.now() - 60_000
    const before = await kept('scratchfs-before-aaaaaa', started - 1000)
    const after = await kept('scratchfs-after-bbbbbb', started + 1000)

    expect((await sweep(root, { keptBefore: started })).map((entry) => entry.dir)).toEqual([before])
    expect(existsSync(after)).toBe(true)
    expect((await sweep(root)).map((entry) => entry.dir)).toEqual([after])
  })

  test('only real scratchfs- dirs of this user: symlinks and other names are never followed', async () => {
    const { base, root } = await setup()
    const outside = join(base, 'outside')
    await writeTree(outside, { 'precious.txt': 'keep me' })
    await utimes(outside, new Date(0), new Date(0))
    await symlink(outside, join(root, 'scratchfs-planted-eeeeee'))
    const other = join(root, 'not-scratchfs')
    await mkdir(other)
    await utimes(other, new Date(0), new Date(0))

    expect(await sweep(root, { graceMs: 0 })).toEqual([])
    expect(await readFile(join(outside, 'precious.txt'), 'utf8')).toBe('keep me')
    expect(existsSync(other)).toBe(true)
  })

  test.skipIf(!isRoot)(
    "another user's view dirs are left alone (needs root to chown)",
    async () => {
      const { root } = await setup()
      const foreign = join(root, 'scratchfs-foreign-ffffff')
      await mkdir(foreign)
      await writeRecord(foreign, {
        owner: deadOwner,
        run: deadOwner,
        backend: 'copy',
        label: 'f',
        created: 0,
      })
      await execa('chown', ['-R', '65534:65534', foreign])

      expect(await sweep(root)).toEqual([])
      expect(existsSync(join(foreign, RECORD))).toBe(true)
    },
  )

  test.skipIf(!isRoot)(
    'a non-root owner removes leftovers in a mode-000 work/work (needs root to switch user)',
    async () => {
      const { base, root } = await setup()
      const dir = join(root, 'scratchfs-locked-gggggg')
      await writeTree(join(dir, 'work', 'work'), { '#leftover': { inside: 'x' } })
      await writeRecord(dir, {
        owner: deadOwner,
        run: deadOwner,
        backend: 'overlay',
        label: 'l',
        created: 0,
      })
      await chmod(join(dir, 'work', 'work'), 0o000)
      await chmod(base, 0o755)
      await execa('chown', ['-R', '65534:65534', root])

      // A build the other user can read, wherever this checkout is.
      const { build } = await plainUser()
      const sweepModule = pathToFileURL(join(build, 'dist', 'sweep.js')).href
      const script = `const { sweep } = await import(${JSON.stringify(sweepModule)}); console.log(JSON.stringify(await sweep(${JSON.stringify(root)})))`
      const result = await execa('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'node',
        '--input-type=module',
        '-e',
        script,
      ])

      expect(JSON.parse(result.stdout)).toEqual([
        { dir, why: `owner pid ${deadOwner.pid} is gone` },
      ])
      expect(existsSync(dir)).toBe(false)
      expect((await stat(root)).uid).toBe(65534)
    },
  )

  test('a symlink planted at work/work is not chmodded through while deleting', async () => {
    const { base, root } = await setup()
    const outside = join(base, 'locked-outside')
    await mkdir(outside, { mode: 0o000 })
    await chmod(outside, 0o000)
    const dir = join(root, 'scratchfs-planted-hhhhhh')
    await mkdir(join(dir, 'work'), { recursive: true })
    await symlink(outside, join(dir, 'work', 'work'))
    await writeRecord(dir, {
      owner: deadOwner,
      run: deadOwner,
      backend: 'overlay',
      label: 'p',
      created: 0,
    })

    await sweep(root)

    expect(existsSync(dir)).toBe(false)
    expect((await lstat(outside)).mode & 0o777).toBe(0)
    await chmod(outside, 0o700)
  })
})
