import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
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

describe.skipIf(!isRoot)('what a disposed view leaves in memory', () => {
  // A Vitest worker keeps every test's context, and with it the Scratch its
  // fixture made. A disposed one keeps what a reader may ask: about 300
  // bytes, measured as what the heap gives back when the kept ones are let
  // go. One that held on to its view (paths, layers, promises) held about
  // 690, so the bound sits between the two, far from either.
  test('a disposed Scratch a runner keeps holds a few hundred bytes, not its view', async () => {
    const { golden, root, base } = await goldenAndRoot('kept-scratches', { 'a.txt': 'a' })
    const script = fileURLToPath(
      new URL('../reliability/fixtures/kept-scratches.mjs', import.meta.url),
    )
    const { stdout } = await execa('node', ['--expose-gc', script, root, golden, '600'], {
      stdin: 'ignore',
    })
    const { perScratch, kept } = JSON.parse(stdout) as { perScratch: number; kept: number }
    expect(kept).toBe(600)
    expect(perScratch).toBeLessThan(450)
    expect(await mountsBelow(base)).toEqual([])
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

    // The first view after it, and those made ahead of time from then on.
    for (let index = 0; index < 4; index++) {
      const scratch = await createScratch({ golden, root, backend: 'overlay' })
      expect(await readFile(join(scratch.path, 'a.txt'), 'utf8')).toBe('new')
      expect((await readdir(scratch.path)).sort()).toEqual(['a.txt', 'b.txt'])
      await scratch.dispose()
    }
    await settle()
    expect(await readdir(root)).toEqual([])
  })
})

describe.skipIf(!isRoot)('a view dir recycled for a later view', () => {
  test('keeps nothing of the test that used it: files, dirs, deletions or a changed root', async () => {
    const { golden, root, base } = await goldenAndRoot('background-recycled', {
      'a.txt': 'a',
      'sub/b.txt': 'b',
    })
    await chmod(golden, 0o750)
    const records: number[] = []
    for (let index = 0; index < 8; index++) {
      const scratch = await createScratch({ golden, root, backend: 'overlay' })
      records.push((await stat(join(dirname(scratch.path), 'owner.json'))).ino)
      expect((await readdir(scratch.path)).sort()).toEqual(['a.txt', 'sub'])
      expect(await readdir(join(scratch.path, 'sub'))).toEqual(['b.txt'])
      expect((await stat(scratch.path)).mode & 0o7777).toBe(0o750)
      expect(await scratch.changes()).toEqual([])
      // Everything a test can leave in its upper: new files and dirs, a
      // whiteout, an opaque dir, a changed root.
      await writeFile(join(scratch.path, `left-by-${index}.txt`), 'x')
      await mkdir(join(scratch.path, 'new', 'deep'), { recursive: true })
      await writeFile(join(scratch.path, 'new', 'deep', 'c.txt'), 'c')
      await rm(join(scratch.path, 'a.txt'))
      await rm(join(scratch.path, 'sub'), { recursive: true })
      await mkdir(join(scratch.path, 'sub'))
      await chmod(scratch.path, 0o700)
      await scratch.dispose()
    }
    // The same record, so the same dir, served more than one view.
    expect(new Set(records).size).toBeLessThan(records.length)
    await settle()
    expect(await mountsBelow(base)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('what a test leaves beside its view, or a layer link it retargets, never reaches a later test', async () => {
    const { golden, root, base } = await goldenAndRoot('background-beside', { 'a.txt': 'a' })
    const other = join(base, 'other')
    await writeTree(other, { 'other.txt': 'o' })
    await execa('git', ['init', '-q', '-b', 'main'], { cwd: golden })
    await execa(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'c'],
      { cwd: golden },
    )
    for (let index = 0; index < 8; index++) {
      const scratch = await createScratch({ golden, root, backend: 'overlay' })
      const dir = dirname(scratch.path)
      expect((await readdir(scratch.path)).sort()).toEqual(['.git', 'a.txt'])
      expect(existsSync(join(dir, 'wt'))).toBe(false)
      // A worktree beside the repo, as `git worktree add ../wt` makes it,
      // or, every other test, the top layer's link pointed elsewhere.
      if (index % 2 === 0) {
        await execa('git', ['worktree', 'add', '-q', '../wt', '-b', `b${index}`], {
          cwd: scratch.path,
        })
      } else {
        await rm(join(dir, 'l0'))
        await execa('ln', ['-s', other, join(dir, 'l0')])
      }
      await scratch.dispose()
    }
    await settle()
    expect(await mountsBelow(base)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })
})
