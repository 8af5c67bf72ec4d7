import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { snapshot, tempDir, writeTree } from '../helpers.js'
import { expectRefused, leftViews } from './refused.js'

async function space() {
  const base = await tempDir('input')
  const golden = join(base, 'golden')
  await writeTree(golden, { 'a.txt': 'a', src: { 'b.txt': 'b' } })
  return { base, golden }
}

describe('createScratch: root and golden must be apart', () => {
  test('a root inside the golden is refused, names both paths, and creates nothing there', async () => {
    const { base, golden } = await space()
    const before = await snapshot(golden)
    const root = join(golden, 'src', 'scratch')
    await expectRefused(
      { golden, root },
      { code: 'EROOT', paths: [root, golden], reason: /is inside golden/ },
      { base, root },
    )
    expect(await snapshot(golden)).toEqual(before)
  })

  test('an existing root inside the golden is refused', async () => {
    const { base, golden } = await space()
    const root = join(golden, 'src')
    await expectRefused(
      { golden, root },
      { code: 'EROOT', paths: [root, golden], reason: /is inside golden/ },
      { base, root },
    )
  })

  test('the golden itself as root is refused', async () => {
    const { base, golden } = await space()
    await expectRefused(
      { golden, root: golden },
      { code: 'EROOT', paths: [golden], reason: /is inside golden/ },
      { base, root: golden },
    )
  })

  test('a golden inside the root is refused and names both paths', async () => {
    const base = await tempDir('input')
    const root = join(base, 'root')
    const golden = join(root, 'fixtures', 'golden')
    await writeTree(golden, { 'a.txt': 'a' })
    await expectRefused(
      { golden, root },
      { code: 'EROOT', paths: [golden, root], reason: /is inside scratch root/ },
      { base, root },
    )
    expect(await leftViews(root)).toEqual([])
  })

  test('a root below a symlink into the golden is refused', async () => {
    const { base, golden } = await space()
    const { symlink } = await import('node:fs/promises')
    await mkdir(join(base, 'elsewhere'))
    await symlink(golden, join(base, 'elsewhere', 'link'))
    const before = await snapshot(golden)
    const root = join(base, 'elsewhere', 'link', 'new-root')
    await expectRefused(
      { golden, root },
      { code: 'EROOT', paths: [golden], reason: /is inside golden/ },
      { base, root },
    )
    expect(await snapshot(golden)).toEqual(before)
  })

  test('a root that is a file is refused before anything is made', async () => {
    const { base, golden } = await space()
    const root = join(base, 'scratch-root')
    await writeFile(root, 'a file')
    await expectRefused(
      { golden, root },
      { code: 'EROOT', paths: [root], reason: /is a file, not a directory/ },
      { base, root: base },
    )
  })
})
