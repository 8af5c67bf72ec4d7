import { existsSync, renameSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { isRoot, snapshot, tempDir, writeTree } from '../helpers.js'

async function setup() {
  const base = await tempDir('rename')
  const golden = join(base, 'golden')
  await writeTree(golden, { pkg: { 'index.js': 'golden', lib: { 'a.js': 'a' } } })
  return { golden, root: join(base, 'root') }
}

describe('renaming a directory that comes from the golden', () => {
  test.skipIf(!isRoot)(
    'overlay: rename(2) gives EXDEV as overlayfs does, mv copies, the golden stays (needs root to mount)',
    async () => {
      const { golden, root } = await setup()
      const before = await snapshot(golden)
      const view = await createScratch({ golden, root, backend: 'overlay' })

      expect(() => renameSync(join(view.path, 'pkg'), join(view.path, 'moved'))).toThrow(
        expect.objectContaining({ code: 'EXDEV' }),
      )
      await execa('mv', [join(view.path, 'pkg'), join(view.path, 'moved')])
      expect(await readFile(join(view.path, 'moved', 'lib', 'a.js'), 'utf8')).toBe('a')
      expect(existsSync(join(view.path, 'pkg'))).toBe(false)
      expect(await view.changes()).toEqual([
        { kind: 'added', path: 'moved/index.js' },
        { kind: 'added', path: 'moved/lib/a.js' },
        { kind: 'deleted', path: 'pkg' },
      ])

      await view.dispose()
      expect(await snapshot(golden)).toEqual(before)
    },
  )

  test('copy: rename(2) works (a documented difference), with the same changes()', async () => {
    const { golden, root } = await setup()
    const view = await createScratch({ golden, root, backend: 'copy' })

    renameSync(join(view.path, 'pkg'), join(view.path, 'moved'))

    expect(await view.changes()).toEqual([
      { kind: 'added', path: 'moved/index.js' },
      { kind: 'added', path: 'moved/lib/a.js' },
      { kind: 'deleted', path: 'pkg' },
    ])
    await view.dispose()
  })
})
