import { chmod, mkdir, open, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import type { BackendName } from '../../src/index.js'
import { type Change, createScratch } from '../../src/index.js'
import type { Tree } from '../helpers.js'
import { AVAILABLE, describeEachBackend } from './backends.js'
import { expectNoLeftovers, workspace } from './setup.js'

const TREE: Tree = {
  'keep.txt': 'keep',
  'content.txt': 'old',
  'mode.sh': { file: '#!/bin/sh\n', mode: 0o644 },
  link: { link: 'keep.txt' },
  'del.txt': 'x',
  deldir: { 'a.txt': 'a', sub: { 'b.txt': 'b' } },
  'opened.txt': 'same',
  'rewritten.txt': 'same bytes',
  recreate: { 'one.txt': '1', 'two.txt': '2', 'three.txt': '3' },
  file2dir: 'a file',
  dir2file: { 'inner.txt': 'inner' },
  Upper: 'sorts before lower case',
  z: { deep: { 'x.txt': 'x' } },
}

/** The same operations, one per kind of change, run on every backend. */
async function operate(view: string): Promise<void> {
  const at = (path: string) => join(view, path)
  await writeFile(at('added.txt'), 'added')
  await mkdir(at('newdir/sub'), { recursive: true })
  await mkdir(at('newdir/empty'))
  await writeFile(at('newdir/f.txt'), 'f')
  await writeFile(at('newdir/sub/g.txt'), 'g')
  await mkdir(at('emptydir'))
  await unlink(at('del.txt'))
  await rm(at('deldir'), { recursive: true })
  await writeFile(at('content.txt'), 'new')
  await chmod(at('mode.sh'), 0o755)
  await chmod(at('z/deep'), 0o700)
  await unlink(at('link'))
  await symlink('content.txt', at('link'))
  await (await open(at('opened.txt'), 'r+')).close()
  await writeFile(at('rewritten.txt'), 'same bytes')
  await rm(at('recreate'), { recursive: true })
  await mkdir(at('recreate'))
  await writeFile(at('recreate/one.txt'), '1')
  await writeFile(at('recreate/two.txt'), 'changed')
  await writeFile(at('recreate/four.txt'), '4')
  await unlink(at('file2dir'))
  await mkdir(at('file2dir'))
  await writeFile(at('file2dir/inside.txt'), 'inside')
  await rm(at('dir2file'), { recursive: true })
  await writeFile(at('dir2file'), 'now a file')
  await writeFile(at('Upper'), 'changed')
}

const EXPECTED: Change[] = [
  { kind: 'modified', path: 'Upper' },
  { kind: 'added', path: 'added.txt' },
  { kind: 'modified', path: 'content.txt' },
  { kind: 'deleted', path: 'del.txt' },
  { kind: 'deleted', path: 'deldir' },
  { kind: 'modified', path: 'dir2file' },
  { kind: 'added', path: 'emptydir' },
  { kind: 'modified', path: 'file2dir' },
  { kind: 'added', path: 'file2dir/inside.txt' },
  { kind: 'modified', path: 'link' },
  { kind: 'modified', path: 'mode.sh' },
  { kind: 'added', path: 'newdir/empty' },
  { kind: 'added', path: 'newdir/f.txt' },
  { kind: 'added', path: 'newdir/sub/g.txt' },
  { kind: 'added', path: 'recreate/four.txt' },
  { kind: 'deleted', path: 'recreate/three.txt' },
  { kind: 'modified', path: 'recreate/two.txt' },
  { kind: 'modified', path: 'z/deep' },
]

async function changesAfterOperations(backend: BackendName): Promise<Change[]> {
  const space = await workspace(TREE)
  await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
  await operate(scratch.path)
  return scratch.changes()
}

describeEachBackend('Scratch.changes()', (backend) => {
  afterEach(expectNoLeftovers)

  test('a fresh view has no changes', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    expect(await scratch.changes()).toEqual([])
  })

  test('each kind of change appears once, with the shape DESIGN.md fixes, sorted by path', async () => {
    const changes = await changesAfterOperations(backend)
    expect(changes).toEqual(EXPECTED)
    const paths = changes.map((change) => change.path)
    expect(paths).toEqual([...paths].sort())
  })

  test('a file opened read-write or rewritten with the same bytes is not a change', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await (await open(join(scratch.path, 'opened.txt'), 'r+')).close()
    await writeFile(join(scratch.path, 'rewritten.txt'), 'same bytes')
    await (await open(join(scratch.path, 'z/deep/x.txt'), 'a')).close()
    expect(await scratch.changes()).toEqual([])
  })

  test('a mode changed and changed back is not a change', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await chmod(join(scratch.path, 'mode.sh'), 0o700)
    await chmod(join(scratch.path, 'mode.sh'), 0o644)
    expect(await scratch.changes()).toEqual([])
  })
})

describe.skipIf(AVAILABLE.length < 2)(
  `Scratch.changes() across backends${AVAILABLE.length < 2 ? ` (skipped: only ${AVAILABLE.join(', ')} works here)` : ''}`,
  () => {
    afterEach(expectNoLeftovers)

    test('every backend gives the same answer for the same operations', async () => {
      const answers: Record<string, Change[]> = {}
      for (const backend of AVAILABLE) answers[backend] = await changesAfterOperations(backend)
      const [first, ...rest] = AVAILABLE
      for (const backend of rest) expect(answers[backend], backend).toEqual(answers[first ?? ''])
      expect(answers[first ?? '']).toEqual(EXPECTED)
    })
  },
)
