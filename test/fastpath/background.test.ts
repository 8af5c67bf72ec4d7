import { existsSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createScratch, settle } from '../../src/index.js'
import { goldenAndRoot, isRoot, mountsBelow, writeTree } from '../helpers.js'

describe.skipIf(!isRoot)('work left for the background (needs root to mount)', () => {
  test('dispose() unmounts at once; the dir goes in the background, and settle() waits for it', async () => {
    const { golden, root, base } = await goldenAndRoot('background', { 'a.txt': 'a' })
    const scratch = await createScratch({ golden, root, backend: 'overlay', label: 'first' })
    await writeFile(join(scratch.path, 'written.txt'), 'x')
    const dir = dirname(scratch.path)

    await scratch.dispose()
    expect(await mountsBelow(base)).toEqual([])
    expect(existsSync(dir)).toBe(false)
    // Renamed out of the way: only its deletion may still be pending.
    const names = await readdir(root)
    expect(names.filter((name) => !name.startsWith('scratchfs--gone-first-'))).toEqual([])

    await settle()
    expect(await readdir(root)).toEqual([])
  })

  test('the view made ahead of time is a fresh one: it never shows what the last test wrote', async () => {
    const { golden, root, base } = await goldenAndRoot('background', { 'a.txt': 'a' })
    for (let index = 0; index < 6; index++) {
      const scratch = await createScratch({ golden, root, backend: 'overlay', label: `t${index}` })
      expect(basename(dirname(scratch.path))).toMatch(new RegExp(`^scratchfs-t${index}-`))
      expect((await readdir(scratch.path)).sort()).toEqual(['a.txt'])
      expect(await scratch.changes()).toEqual([])
      await writeFile(join(scratch.path, 'a.txt'), `changed by ${index}`)
      await writeFile(join(scratch.path, `left-by-${index}.txt`), 'x')
      await scratch.dispose()
    }
    await settle()
    expect(await mountsBelow(base)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })
})

describe.skipIf(!isRoot)('a view made ahead of time and a golden that changes', () => {
  test('a golden replaced at the same path between two tests is what the next view shows', async () => {
    const { golden, root } = await goldenAndRoot('background-replaced', { 'a.txt': 'old' })
    for (let index = 0; index < 3; index++) {
      const scratch = await createScratch({ golden, root, backend: 'overlay' })
      expect(await readFile(join(scratch.path, 'a.txt'), 'utf8')).toBe('old')
      await scratch.dispose()
    }
    // The next view is mounted ahead of time, on the old golden.
    await expect
      .poll(async () => (await mountsBelow(root)).filter((m) => m.includes('/scratchfs--ready-')))
      .toHaveLength(1)
    // What a beforeAll that rebuilds its fixture does.
    await rm(golden, { recursive: true })
    await writeTree(golden, { 'a.txt': 'new', 'b.txt': 'b' })

    const scratch = await createScratch({ golden, root, backend: 'overlay' })
    expect(await readFile(join(scratch.path, 'a.txt'), 'utf8')).toBe('new')
    expect((await readdir(scratch.path)).sort()).toEqual(['a.txt', 'b.txt'])
    await scratch.dispose()
  })
})
