import { lstat, readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { snapshot, type Tree } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { commitAll, expectNoLeftovers, fullState, git, workspace } from './setup.js'

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte))
const MOSTLY_NUL = Buffer.alloc(200_000)
MOSTLY_NUL.write('\x7fELF', 0, 'latin1')
MOSTLY_NUL[123_457] = 0xff

const TREE: Tree = {
  'all-bytes.bin': ALL_BYTES,
  'mostly-nul.bin': MOSTLY_NUL,
  'run.sh': { file: '#!/bin/sh\necho ran "$@"\n', mode: 0o755 },
  'private.key': { file: 'secret', mode: 0o600 },
  'group.txt': { file: 'g', mode: 0o640 },
  'readonly.txt': { file: 'ro', mode: 0o444 },
  lib: { 'target.txt': 'target', sub: { 'up.txt': { link: '../target.txt' } } },
  'relative-link': { link: 'lib/target.txt' },
  'dotdot-link': { link: './lib/../lib/sub/up.txt' },
  'dangling-link': { link: 'does/not/exist' },
  'absolute-dangling': { link: '/nonexistent/scratchfs/target' },
  'link-to-dir': { link: 'lib' },
  'odd\nlink': { link: 'target with\nnewline, and ,ro' },
}

describeEachBackend('createScratch: what the view preserves', (backend) => {
  afterEach(expectNoLeftovers)

  test('names, modes, link targets and bytes match the golden exactly', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    expect(await snapshot(scratch.path)).toEqual(await snapshot(space.golden))
  })

  test('relative and dangling symlinks are byte-identical and stay links', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    for (const name of [
      'relative-link',
      'dotdot-link',
      'dangling-link',
      'absolute-dangling',
      'odd\nlink',
      'lib/sub/up.txt',
    ]) {
      expect((await lstat(join(scratch.path, name))).isSymbolicLink(), name).toBe(true)
      expect(await readlink(join(scratch.path, name), 'buffer'), name).toEqual(
        await readlink(join(space.golden, name), 'buffer'),
      )
    }
    expect(await readFile(join(scratch.path, 'dotdot-link'), 'utf8')).toBe('target')
  })

  test('exec bits work and binary bytes survive, all 256 values and a NUL-heavy file', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })

    const ran = await execa(join(scratch.path, 'run.sh'), ['here'])
    expect(ran.stdout).toBe('ran here')
    expect(await readFile(join(scratch.path, 'all-bytes.bin'))).toEqual(ALL_BYTES)
    expect(await readFile(join(scratch.path, 'mostly-nul.bin'))).toEqual(MOSTLY_NUL)
    for (const [name, mode] of Object.entries({
      'run.sh': 0o755,
      'private.key': 0o600,
      'group.txt': 0o640,
      'readonly.txt': 0o444,
    })) {
      expect((await lstat(join(scratch.path, name))).mode & 0o7777, name).toBe(mode)
    }
  })

  test('a committed .git works: status clean, commit works, the golden .git is untouched', async () => {
    const space = await workspace(TREE)
    await commitAll(space.golden)
    const before = await fullState(space.golden)

    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    expect((await git(scratch.path, 'status', '--porcelain')).stdout).toBe('')
    await writeFile(join(scratch.path, 'new.txt'), 'new')
    await git(scratch.path, 'add', 'new.txt')
    await git(scratch.path, 'commit', '-q', '-m', 'in the view')
    expect((await git(scratch.path, 'status', '--porcelain')).stdout).toBe('')
    expect((await git(scratch.path, 'log', '--format=%s')).stdout).toBe('in the view\ngolden')

    expect(await fullState(space.golden)).toEqual(before)
  })
})
