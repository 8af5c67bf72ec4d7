import { chown, lstat, mkdir, realpath, symlink, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { isRoot, snapshot, type Tree, writeTree } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { expectNoLeftovers, workspace } from './setup.js'

// Three layers, top first, with every way overlayfs resolves a name clash:
// top wins for files, dirs merge, a non-dir hides everything below it, and a
// dir over a non-dir stops the merge there.
const TOP: Tree = {
  'a.txt': 'top',
  dir: { 't.txt': 't' },
  x: 'a file over a dir',
  y: { 'top.txt': 'top' },
}
const MIDDLE: Tree = {
  'a.txt': 'middle',
  'm.txt': 'middle',
  dir: { 'm.txt': 'm', 'shadowed.txt': 'middle' },
  y: 'a file between two dirs',
}
const BOTTOM: Tree = {
  'a.txt': 'bottom',
  'b.txt': 'bottom',
  dir: { 'b.txt': 'b', 'shadowed.txt': 'bottom' },
  x: { 'under.txt': 'hidden by the file above' },
  y: { 'old.txt': 'hidden by the file above' },
}
const MERGED: Tree = {
  'a.txt': 'top',
  'b.txt': 'bottom',
  'm.txt': 'middle',
  dir: { 't.txt': 't', 'm.txt': 'm', 'b.txt': 'b', 'shadowed.txt': 'middle' },
  x: 'a file over a dir',
  y: { 'top.txt': 'top' },
}

describeEachBackend('Scratch.path and the view root', (backend) => {
  afterEach(expectNoLeftovers)

  test('path is the canonical realpath even when golden and root are reached by symlinks', async () => {
    const space = await workspace({ 'file.txt': 'x' })
    await symlink(space.root, join(space.base, 'root-link'))
    await symlink(space.golden, join(space.base, 'golden-link'))
    await using scratch = await createScratch({
      golden: join(space.base, 'golden-link', '.', ''),
      root: join(space.base, 'root-link'),
      backend,
    })
    expect(await realpath(scratch.path)).toBe(scratch.path)
    expect(scratch.path.startsWith(`${await realpath(space.root)}/scratchfs-`)).toBe(true)
  })

  test("the view root has the golden root's mode, owner and mtime", async () => {
    const space = await workspace({ 'file.txt': 'x' })
    const { chmod } = await import('node:fs/promises')
    await chmod(space.golden, 0o751)
    if (isRoot) await chown(space.golden, 1234, 5678)
    await utimes(space.golden, new Date('2001-02-03T04:05:06Z'), new Date('2002-03-04T05:06:07Z'))
    const golden = await lstat(space.golden)

    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    const view = await lstat(scratch.path)
    expect({ mode: view.mode, uid: view.uid, gid: view.gid, mtime: view.mtimeMs }).toEqual({
      mode: golden.mode,
      uid: golden.uid,
      gid: golden.gid,
      mtime: golden.mtimeMs,
    })
  })

  test('several golden layers, top first, merge as overlayfs merges them', async () => {
    const space = await workspace(TOP, { golden: 'top' })
    await Promise.all([
      writeTree(join(space.base, 'middle'), MIDDLE),
      writeTree(join(space.base, 'bottom'), BOTTOM),
      writeTree(join(space.base, 'expected'), MERGED),
    ])
    const layers = [space.golden, join(space.base, 'middle'), join(space.base, 'bottom')]

    await using scratch = await createScratch({ golden: layers, root: space.root, backend })
    expect(await snapshot(scratch.path)).toEqual(await snapshot(join(space.base, 'expected')))
    expect(await scratch.changes()).toEqual([])

    await unlink(join(scratch.path, 'dir/b.txt'))
    await unlink(join(scratch.path, 'y/top.txt'))
    await writeFile(join(scratch.path, 'm.txt'), 'changed')
    // fuse-overlayfs 1.10 lists y/ right but still looks names up in the
    // bottom layer's y/, below the middle layer's file y: mkdir y/old.txt
    // gives EEXIST there, so that one step is the kernel overlay's and copy's.
    const lookupQuirk = backend === 'fuse-overlayfs'
    if (!lookupQuirk) await mkdir(join(scratch.path, 'y/old.txt'))
    expect(await scratch.changes()).toEqual([
      { kind: 'deleted', path: 'dir/b.txt' },
      { kind: 'modified', path: 'm.txt' },
      ...(lookupQuirk ? [] : [{ kind: 'added', path: 'y/old.txt' }]),
      { kind: 'deleted', path: 'y/top.txt' },
    ])
  })
})
