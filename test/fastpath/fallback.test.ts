import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'

// A plain script against the build, as a user would run one. Each view is
// held a moment, as a test holds it: the next view is made in that time, on
// a timer, and a script that went straight on could take its view first.
const script = `
import { createScratch } from ${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))}
import { usesSyscalls } from ${JSON.stringify(join(process.cwd(), 'dist', 'mount', 'syscall.js'))}
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
const [golden, root] = process.argv.slice(1)
for (let i = 0; i < 3; i++) {
  const scratch = await createScratch({ golden, root, backend: 'overlay' })
  writeFileSync(join(scratch.path, 'new.txt'), 'x')
  if (readFileSync(join(scratch.path, 'a.txt'), 'utf8') !== 'a') throw new Error('wrong view')
  if ((await scratch.changes()).length !== 1) throw new Error('wrong changes')
  await new Promise((held) => setTimeout(held, 5))
  await scratch.dispose()
}
await createScratch({ golden, root, backend: 'overlay' })
process.stderr.write(usesSyscalls() ? 'syscalls' : 'spawn')
`

async function runScript(env: Record<string, string>) {
  const base = await tempDir('fastpath-script')
  const golden = join(base, 'golden')
  const root = join(base, 'root')
  await writeTree(golden, { 'a.txt': 'a' })
  const result = await execa('node', ['--input-type=module', '-e', script, golden, root], {
    env,
    reject: false,
  })
  return { result, root, base }
}

describe.skipIf(!isRoot)('the fast path in a plain script (needs root)', () => {
  test('falls back to spawning mount and umount with SCRATCHFS_NO_FFI=1', async () => {
    const { result, root, base } = await runScript({ SCRATCHFS_NO_FFI: '1' })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toBe('spawn')
    expect(await mountsBelow(base)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('by default views are made ahead of time and deleted in the background, and the script still leaves no mount and no dir, and prints nothing', async () => {
    const { result, root, base } = await runScript({ DEBUG: 'scratchfs:pool' })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toBe('')
    // Views 3 and 4 were made while the ones before them were in use.
    expect(
      result.stderr.match(/^scratchfs:pool handed .*scratchfs--ready-.* over as /gm),
    ).toHaveLength(2)
    expect(await mountsBelow(base)).toEqual([])
    expect((await readdir(root)).filter((name) => name.startsWith('scratchfs-'))).toEqual([])
  })

  test('with SCRATCHFS_POOL=0 no view is made ahead of time', async () => {
    const { result, base } = await runScript({ DEBUG: 'scratchfs:pool', SCRATCHFS_POOL: '0' })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).not.toMatch(/handed/)
    expect(await mountsBelow(base)).toEqual([])
  })
})
