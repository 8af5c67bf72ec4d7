import {
  appendFile,
  chmod,
  open,
  rename,
  rm,
  truncate,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import type { Tree } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { commitAll, expectNoLeftovers, fullState, git, workspace } from './setup.js'

const TREE: Tree = {
  'top.txt': 'top',
  'script.sh': { file: '#!/bin/sh\necho hi\n', mode: 0o755 },
  src: {
    'main.ts': 'export {}\n',
    'sibling.txt': 'sibling',
    'to-sibling': { link: 'sibling.txt' },
    'to-top': { link: '../top.txt' },
    'to-lib': { link: '../lib' },
    'to-deep': { link: '../lib/./deep/../deep/x.txt' },
  },
  lib: { 'index.js': 'module.exports = 1\n', deep: { 'x.txt': 'x' } },
}

/** Everything a test might do to a view that must not reach the golden. */
const WRITES: Record<string, (view: string) => Promise<unknown>> = {
  'rewrite a file': (view) => writeFile(join(view, 'top.txt'), 'rewritten'),
  'append to a file': (view) => appendFile(join(view, 'src/main.ts'), 'more\n'),
  'truncate a file': (view) => truncate(join(view, 'lib/index.js'), 0),
  'chmod a file and a dir': async (view) => {
    await chmod(join(view, 'script.sh'), 0o600)
    await chmod(join(view, 'lib'), 0o700)
  },
  'touch a file': (view) => utimes(join(view, 'top.txt'), 1, 1),
  'delete a file': (view) => unlink(join(view, 'top.txt')),
  'rm -rf a dir': (view) => rm(join(view, 'lib'), { recursive: true }),
  'rename a file': (view) => rename(join(view, 'top.txt'), join(view, 'src/moved.txt')),
  'write through a relative symlink to a sibling': (view) =>
    writeFile(join(view, 'src/to-sibling'), 'through the link'),
  'write through a symlink to ../ in the tree': (view) =>
    writeFile(join(view, 'src/to-top'), 'through ..'),
  'write into a dir reached by a ../ symlink': async (view) => {
    await writeFile(join(view, 'src/to-lib/new.txt'), 'new')
    await writeFile(join(view, 'src/to-lib/index.js'), 'changed')
  },
  'write through a symlink with ./ and ../ in its target': (view) =>
    writeFile(join(view, 'src/to-deep'), 'deep'),
  'open read-write without writing': async (view) => {
    const file = await open(join(view, 'lib/deep/x.txt'), 'r+')
    await file.close()
  },
  'replace a symlink': async (view) => {
    await unlink(join(view, 'src/to-sibling'))
    await writeFile(join(view, 'src/to-sibling'), 'now a file')
  },
}

describeEachBackend('createScratch: the golden is never modified', (backend) => {
  afterEach(expectNoLeftovers)

  for (const [name, write] of Object.entries(WRITES)) {
    test(`${name} in the view leaves the golden byte-identical`, async () => {
      const space = await workspace(TREE)
      const before = await fullState(space.golden)

      await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
      const viewBefore = await fullState(scratch.path)
      await write(scratch.path)

      // The write did reach the view (opening read-write changes nothing visible).
      if (!name.startsWith('open read-write')) {
        expect(await fullState(scratch.path)).not.toEqual(viewBefore)
      }
      expect(await fullState(space.golden)).toEqual(before)
    })
  }

  test('git commit in a view of a committed repo leaves the golden and its .git byte-identical', async () => {
    const space = await workspace(TREE)
    await commitAll(space.golden)
    const before = await fullState(space.golden)

    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await writeFile(join(scratch.path, 'top.txt'), 'committed in the view')
    await git(scratch.path, 'commit', '-q', '-am', 'in the view')
    await git(scratch.path, 'gc', '-q')

    expect((await git(scratch.path, 'log', '--format=%s')).stdout).toBe('in the view\ngolden')
    expect((await git(space.golden, 'log', '--format=%s')).stdout).toBe('golden')
    expect(await fullState(space.golden)).toEqual(before)
  })
})
