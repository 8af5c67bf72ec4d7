import { chmod, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { compareScans, GoldenGuard, scanGolden } from '../../src/verify.js'
import { isRoot, tempDir, writeTree } from '../helpers.js'

async function golden() {
  const base = await tempDir('verify')
  const dir = join(base, 'golden')
  await writeTree(dir, {
    'a.txt': 'a',
    'same-size.txt': 'one',
    dir: { 'b.txt': 'b', 'link-in': { link: '../a.txt' } },
    'to-go.txt': 'x',
  })
  return { base, dir }
}

describe('golden verification', () => {
  test('lists every path that changed: content, same-size rewrite with old times, mode, link target, added, deleted', async () => {
    const { dir } = await golden()
    const before = scanGolden(dir)

    await writeFile(join(dir, 'a.txt'), 'changed')
    await writeFile(join(dir, 'same-size.txt'), 'two')
    await utimes(join(dir, 'same-size.txt'), new Date(0), new Date(0))
    await chmod(join(dir, 'dir', 'b.txt'), 0o600)
    await rm(join(dir, 'dir', 'link-in'))
    await symlink('../to-go.txt', join(dir, 'dir', 'link-in'))
    await rm(join(dir, 'to-go.txt'))
    await mkdir(join(dir, 'new-dir'))

    expect(compareScans(before, scanGolden(dir))).toEqual([
      'modified a.txt',
      'modified dir/b.txt',
      'modified dir/link-in',
      'added new-dir',
      'modified same-size.txt',
      'deleted to-go.txt',
    ])
  })

  test('an unchanged golden, read all over, compares equal', async () => {
    const { dir } = await golden()
    const guard = new GoldenGuard()
    guard.watch([dir])
    await execa('cat', [join(dir, 'a.txt'), join(dir, 'dir', 'link-in')])
    expect(guard.check()).toEqual([])
  })

  test('each golden is walked once however often it is watched', async () => {
    const { dir } = await golden()
    const guard = new GoldenGuard()
    expect(guard.watch([dir])).toEqual([dir])
    expect(guard.watch([dir])).toEqual([])
    await writeFile(join(dir, 'a.txt'), 'changed')
    const [error] = guard.check()
    expect(error?.code).toBe('EVERIFY')
    expect(error?.message).toContain(
      `golden ${JSON.stringify(dir)} changed during the run (1 paths):\n  - modified a.txt`,
    )
  })

  test('hazards: links out of the golden into writable places, absolute links into it, devices, setuid', async () => {
    const { base, dir } = await golden()
    await mkdir(join(base, 'writable'))
    await symlink(join(base, 'writable', 'x'), join(dir, 'abs-out'))
    await symlink('../writable', join(dir, 'rel-out'))
    await symlink(join(dir, 'a.txt'), join(dir, 'abs-in'))
    await symlink('/proc/version', join(dir, 'not-writable'))
    await writeTree(dir, { 'setuid-tool': { file: '#!/bin/sh\n', mode: 0o4755 } })
    if (isRoot) await execa('mknod', [join(dir, 'null-device'), 'c', '1', '3'])

    const hazards = scanGolden(dir).hazards
    expect(hazards.map((hazard) => hazard.split(':')[0])).toEqual([
      'abs-in',
      'abs-out',
      // Root may write anywhere: for root every link out is a hazard.
      ...(isRoot ? ['not-writable', 'null-device'] : []),
      'rel-out',
      'setuid-tool',
    ])
    expect(hazards.join('\n')).toMatch(/abs-in: absolute link .* inside the golden itself/)
    expect(hazards.join('\n')).toMatch(/rel-out: link to "..\/writable" leaves the golden/)
  })

  test('verify: true without the plugin fails the exit code of a process whose golden changed, naming the path', async () => {
    const { dir } = await golden()
    const root = join(dir, '..', 'root')
    const entry = new URL('../../dist/index.js', import.meta.url).href
    const script = `
      import { writeFile } from 'node:fs/promises'
      const { createScratch } = await import(${JSON.stringify(entry)})
      for (let i = 0; i < 3; i++) await (await createScratch({ golden: process.argv[1], root: process.argv[2], backend: 'copy', verify: true })).dispose()
      await writeFile(process.argv[1] + '/a.txt', 'written behind the tests')
    `
    const result = await execa('node', ['--input-type=module', '-e', script, dir, root], {
      reject: false,
    })

    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain(
      `scratchfs: golden ${JSON.stringify(dir)} changed during the run (1 paths):\n  - modified a.txt`,
    )
  })
})
