import { mkdir, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'
import { childWithViews } from './child.js'

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

describe.skipIf(!isRoot)('scratchfs clean (needs root to mount)', () => {
  test('after a SIGKILLed run, --dry-run lists its views and clean removes them completely', async () => {
    const base = await tempDir('clean')
    const golden = join(base, 'golden, ro')
    const root = join(base, 'root:\nx')
    await writeTree(golden, { 'a.txt': 'a' })
    await mkdir(root)
    const child = await childWithViews(root, golden, 2, { nested: true })
    child.process.kill('SIGKILL')
    await child.process
    const dirs = child.views.map((view) => dirname(view)).sort()

    const dry = await execa('node', [cli, 'clean', '--dry-run', '--root', root])
    expect(dry.stdout.split('\n').slice(0, -1).sort()).toEqual(
      dirs.map((dir) => `would remove ${JSON.stringify(dir)} (owner pid ${child.pid} is gone)`),
    )
    expect(dry.stdout.split('\n').at(-1)).toBe(
      `scratchfs clean: 2 to remove under ${JSON.stringify(root)}`,
    )
    expect(await mountsBelow(root)).toHaveLength(4)

    const clean = await execa('node', [cli, 'clean', '--root', root])
    expect(clean.stdout.split('\n').slice(0, -1).sort()).toEqual(
      dirs.map((dir) => `removed ${JSON.stringify(dir)} (owner pid ${child.pid} is gone)`),
    )
    expect(clean.stdout.split('\n').at(-1)).toBe(
      `scratchfs clean: 2 removed under ${JSON.stringify(root)}`,
    )
    expect(await mountsBelow(root)).toEqual([])
    expect(await readdir(root)).toEqual([])

    const again = await execa('node', [cli, 'clean', '--root', root])
    expect(again.stdout).toBe(`scratchfs clean: 0 removed under ${JSON.stringify(root)}`)
  })
})

describe('scratchfs clean on a root that is not there', () => {
  test('a mistyped --root is an error naming it, and nothing is made there, --dry-run or not', async () => {
    const base = await tempDir('clean-missing')
    const root = join(base, 'no-such', 'root')
    for (const args of [['--dry-run'], []]) {
      const result = await execa('node', [cli, 'clean', ...args, '--root', root], { reject: false })
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toContain(`scratch root ${JSON.stringify(root)} does not exist`)
      expect(result.stderr).toContain('Fix: pass the directory your runs use with --root DIR')
    }
    expect(await readdir(base)).toEqual([])
  })

  test('an empty --root is an error, not the current directory', async () => {
    const cwd = await tempDir('clean-empty')
    await mkdir(join(cwd, 'scratchfs-looks-like-a-view'))
    const result = await execa('node', [cli, 'clean', '--root', ''], { cwd, reject: false })
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain(
      'scratch root is an empty path\nFix: pass a directory with --root DIR',
    )
    expect(await readdir(cwd)).toEqual(['scratchfs-looks-like-a-view'])
  })

  test('without --root, a default root not yet made is reported and not made', async () => {
    const tmp = await tempDir('clean-missing')
    const result = await execa('node', [cli, 'clean'], { env: { TMPDIR: tmp } })
    expect(result.stdout).toMatch(/^scratchfs clean: nothing to remove, ".*" does not exist$/)
    expect(await readdir(tmp)).toEqual([])
  })
})
