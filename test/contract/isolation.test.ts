import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { snapshot } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { expectNoLeftovers, workspace } from './setup.js'

const VIEWS = 8

describeEachBackend('createScratch: views are private', (backend) => {
  afterEach(expectNoLeftovers)

  test('concurrent views of one golden writing the same paths each see only their own writes', async () => {
    const space = await workspace({
      'shared.txt': 'golden',
      'gone.txt': 'golden',
      dir: { 'inner.txt': 'golden' },
    })
    const before = await snapshot(space.golden)

    const scratches = await Promise.all(
      Array.from({ length: VIEWS }, (_, index) =>
        createScratch({ golden: space.golden, root: space.root, backend, label: `view${index}` }),
      ),
    )
    try {
      // Every view writes and deletes the same relative paths at the same time.
      await Promise.all(
        scratches.map(async (scratch, index) => {
          await writeFile(join(scratch.path, 'shared.txt'), `view ${index}`)
          await writeFile(join(scratch.path, 'dir', 'inner.txt'), `view ${index}`, { flag: 'a' })
          await mkdir(join(scratch.path, 'new', 'deep'), { recursive: true })
          await writeFile(join(scratch.path, 'new', 'deep', 'file.txt'), `view ${index}`)
          if (index % 2 === 0) await unlink(join(scratch.path, 'gone.txt'))
          else await rm(join(scratch.path, 'dir'), { recursive: true })
        }),
      )

      for (const [index, scratch] of scratches.entries()) {
        const read = (path: string) => readFile(join(scratch.path, path), 'utf8')
        expect(await read('shared.txt')).toBe(`view ${index}`)
        expect(await read('new/deep/file.txt')).toBe(`view ${index}`)
        if (index % 2 === 0) {
          expect(await read('dir/inner.txt')).toBe(`goldenview ${index}`)
          expect(await scratch.changes()).toEqual([
            { kind: 'modified', path: 'dir/inner.txt' },
            { kind: 'deleted', path: 'gone.txt' },
            { kind: 'added', path: 'new/deep/file.txt' },
            { kind: 'modified', path: 'shared.txt' },
          ])
        } else {
          expect(await read('gone.txt')).toBe('golden')
          expect(await scratch.changes()).toEqual([
            { kind: 'deleted', path: 'dir' },
            { kind: 'added', path: 'new/deep/file.txt' },
            { kind: 'modified', path: 'shared.txt' },
          ])
        }
      }
      expect(new Set(scratches.map((scratch) => scratch.path)).size).toBe(VIEWS)
    } finally {
      await Promise.all(scratches.map((scratch) => scratch.dispose()))
    }
    expect(await snapshot(space.golden)).toEqual(before)
  })
})
