import { access, mkdir, readdir, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { captureWarnings, isRoot, mountsBelow, snapshot, type Tree, writeTree } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { expectNoLeftovers, leftovers, workspace } from './setup.js'

const TREE: Tree = { 'a.txt': 'a', dir: { 'b.txt': 'b' } }

async function scribble(view: string): Promise<void> {
  await writeFile(join(view, 'a.txt'), 'changed')
  await unlink(join(view, 'dir/b.txt'))
  await mkdir(join(view, 'new/deep'), { recursive: true })
  await writeFile(join(view, 'new/deep/c.txt'), 'c')
}

describeEachBackend('Scratch lifecycle', (backend) => {
  afterEach(expectNoLeftovers)

  test.skipIf(!isRoot).each([false, true])(
    'mounts a test leaves on or in its view come off with it (keep: %s), and what they showed is untouched (needs root to mount)',
    async (keep) => {
      const space = await workspace(TREE)
      const inside = join(space.base, 'inside')
      const onTop = join(space.base, 'on-top')
      await writeTree(inside, { 'keep.txt': 'keep' })
      await writeTree(onTop, { 'mine.txt': 'mine', deep: { 'also.txt': 'also' } })
      const scratch = await createScratch({ golden: space.golden, root: space.root, backend })
      await mkdir(join(scratch.path, 'bound'))
      await execa('mount', ['--bind', inside, join(scratch.path, 'bound')])
      await mkdir(join(scratch.path, 'dir', 'tmp'))
      await execa('mount', ['-t', 'tmpfs', 'scratchfs-test', join(scratch.path, 'dir', 'tmp')])
      // A tmpfs with a mount in it, both hidden by a bind over the tmpfs:
      // free to unmount once uncovered, not busy.
      const hidden = join(scratch.path, 'hidden')
      await mkdir(hidden)
      await execa('mount', ['-t', 'tmpfs', 'scratchfs-test', hidden])
      await mkdir(join(hidden, 'inner'))
      await execa('mount', ['--bind', inside, join(hidden, 'inner')])
      await execa('mount', ['--bind', onTop, hidden])
      // A bind over the whole view: deleting the view must not reach through it.
      await execa('mount', ['--bind', onTop, scratch.path])
      const busy = captureWarnings()
      try {
        await scratch.dispose({ keep })
        expect(busy.map((warning) => warning.code)).toEqual([])
        const left = await leftovers(space)
        expect(left.mounts).toEqual([])
        expect(left.views).toHaveLength(keep ? 1 : 0)
        expect(await readdir(inside)).toEqual(['keep.txt'])
        expect(await readFile(join(inside, 'keep.txt'), 'utf8')).toBe('keep')
        expect(await readdir(onTop)).toEqual(['deep', 'mine.txt'])
        expect(await readFile(join(onTop, 'deep', 'also.txt'), 'utf8')).toBe('also')
      } finally {
        // Only this test's own mounts, should dispose have left them.
        for (const target of await mountsBelow(space.base)) await execa('umount', ['-l', target])
        // A kept view is the caller's to remove.
        if (scratch.kept) await rm(join(scratch.kept, '..'), { recursive: true, force: true })
      }
    },
  )

  test('reset() brings the view back to the golden at the same path', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    const path = scratch.path
    await scribble(scratch.path)

    await scratch.reset()
    expect(scratch.path).toBe(path)
    expect(await realpath(scratch.path)).toBe(path)
    expect(await snapshot(scratch.path)).toEqual(await snapshot(space.golden))
    expect(await scratch.changes()).toEqual([])

    await writeFile(join(scratch.path, 'after-reset.txt'), 'x')
    expect(await scratch.changes()).toEqual([{ kind: 'added', path: 'after-reset.txt' }])
  })

  test('reset() twice, in a row and at once, leaves one clean view', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await scribble(scratch.path)
    await scratch.reset()
    await scratch.reset()
    await scribble(scratch.path)
    await Promise.all([scratch.reset(), scratch.reset()])

    expect(await snapshot(scratch.path)).toEqual(await snapshot(space.golden))
    if (backend !== 'copy') expect((await leftovers(space)).mounts).toEqual([scratch.path])
  })

  test('dispose() twice, in a row and at once, removes the view once', async () => {
    const space = await workspace(TREE)
    const first = await createScratch({ golden: space.golden, root: space.root, backend })
    await scribble(first.path)
    await first.dispose()
    await first.dispose()

    const second = await createScratch({ golden: space.golden, root: space.root, backend })
    await scribble(second.path)
    await Promise.all([second.dispose(), second.dispose()])
    expect(await leftovers(space)).toEqual({ mounts: [], views: [] })
  })

  test('dispose({ keep: true }) unmounts and keeps what the view wrote at its relative paths', async () => {
    const space = await workspace(TREE)
    const before = await snapshot(space.golden)
    const scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await scribble(scratch.path)
    await scratch.dispose({ keep: true })

    const kept = scratch.kept
    expect(kept).toBeTypeOf('string')
    if (kept === undefined) return
    expect((await leftovers(space)).mounts).toEqual([])
    expect(await readFile(join(kept, 'a.txt'), 'utf8')).toBe('changed')
    expect(await readFile(join(kept, 'new/deep/c.txt'), 'utf8')).toBe('c')
    expect((await snapshot(kept))['dir/b.txt']).toBeUndefined()
    expect(await snapshot(space.golden)).toEqual(before)

    // The kept view is the one view dir left; removing it is the caller's part.
    const [view, ...more] = (await leftovers(space)).views
    expect(more).toEqual([])
    expect(kept.startsWith(`${join(space.root, view ?? '')}/`)).toBe(true)
    await rm(join(space.root, view ?? ''), { recursive: true, force: true })
  })

  test('a view holding a FIFO and a socket is still kept: the rest copied, those listed, the mount gone', async () => {
    const space = await workspace(TREE)
    const scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await scribble(scratch.path)
    await execa('mkfifo', [join(scratch.path, 'pipe')])
    // A socket left behind by a process that is gone, as a dev server leaves one.
    const bind = "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
    await execa('python3', ['-c', bind], { cwd: scratch.path })

    await scratch.dispose({ keep: true })
    const kept = scratch.kept ?? ''
    expect(kept).not.toBe('')
    expect((await leftovers(space)).mounts).toEqual([])
    expect(await readFile(join(kept, 'new/deep/c.txt'), 'utf8')).toBe('c')
    const notKept = await readFile(join(kept, '../not-kept.txt'), 'utf8')
    expect(notKept).toMatch(/^pipe: a FIFO cannot be copied$/m)
    expect(notKept).toMatch(/^sock: a socket cannot be copied$/m)
    expect(await readFile(join(kept, '../changes.txt'), 'utf8')).toMatch(/^added pipe$/m)
    await rm(join(kept, '..'), { recursive: true, force: true })
  })

  test('reset() refuses while a process holds the view, naming it, and leaves the view as it was', async () => {
    const space = await workspace(TREE)
    await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await writeFile(join(scratch.path, 'mine.txt'), 'mine')
    const child = execa('sleep', ['30'], { cwd: scratch.path, reject: false })
    try {
      const error = await scratch.reset().catch((caught: unknown) => caught)
      expect(error).toMatchObject({ code: 'EBUSY', path: scratch.path })
      expect(String((error as Error).message)).toMatch(
        new RegExp(`pid ${child.pid} \\(sleep 30\\)`),
      )
      expect(String((error as Error).message)).toMatch(/\nFix: stop the processes/)
      expect(await readFile(join(scratch.path, 'mine.txt'), 'utf8')).toBe('mine')
    } finally {
      child.kill()
      await child
    }
    await scratch.reset()
    expect(await scratch.changes()).toEqual([])
  }, 20_000)

  test('changes() and reset() after dispose() fail with EDISPOSED', async () => {
    const space = await workspace(TREE)
    const scratch = await createScratch({ golden: space.golden, root: space.root, backend })
    await scratch.dispose()

    await expect(scratch.changes()).rejects.toMatchObject({
      name: 'ScratchfsError',
      code: 'EDISPOSED',
    })
    await expect(scratch.reset()).rejects.toMatchObject({ code: 'EDISPOSED' })
  })

  test('await using disposes the view at the end of the block', async () => {
    const space = await workspace(TREE)
    let path = ''
    {
      await using scratch = await createScratch({
        golden: space.golden,
        root: space.root,
        backend,
      })
      path = scratch.path
      await scribble(path)
      expect(await readdir(space.root)).toHaveLength(1)
    }
    await expect(access(path)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await leftovers(space)).toEqual({ mounts: [], views: [] })
  })
})
