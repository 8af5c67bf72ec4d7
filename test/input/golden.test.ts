import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { isRoot, tempDir, writeTree } from '../helpers.js'
import { createScratchAsNobody, NOBODY, removeTranspiled } from './nobody.js'
import { expectRefusal, expectRefused, leftViews } from './refused.js'

async function space() {
  const base = await tempDir('input')
  const root = join(base, 'root')
  await mkdir(root)
  return { base, root }
}

describe('createScratch: a bad golden fails before mounting', () => {
  test('a missing golden names the path and says it does not exist', async () => {
    const where = await space()
    const golden = join(where.base, 'not', 'built', 'yet')
    await expectRefused(
      { golden, root: where.root },
      { code: 'EGOLDEN', paths: [golden], reason: /does not exist/ },
      where,
    )
  })

  test('a golden that is a file says it is not a directory', async () => {
    const where = await space()
    const golden = join(where.base, 'golden.tar')
    await writeFile(golden, 'not a dir')
    await expectRefused(
      { golden, root: where.root },
      { code: 'EGOLDEN', paths: [golden], reason: /is a file, not a directory/ },
      where,
    )
  })

  test('a golden below a file says a component is a file', async () => {
    const where = await space()
    await writeFile(join(where.base, 'fixtures.tar'), 'not a dir')
    const golden = join(where.base, 'fixtures.tar', 'repo')
    await expectRefused(
      { golden, root: where.root },
      { code: 'EGOLDEN', paths: [golden], reason: /component above it is a file/ },
      where,
    )
  })

  test('a golden that is a dangling symlink names the link and its target', async () => {
    const where = await space()
    const golden = join(where.base, 'golden')
    await symlink('../gone/for/good', golden)
    await expectRefused(
      { golden, root: where.root },
      { code: 'EGOLDEN', paths: [golden, '../gone/for/good'], reason: /does not exist/ },
      where,
    )
  })

  test('a golden path longer than the kernel resolves names the limit', async () => {
    const where = await space()
    const golden = join(where.base, ...Array.from({ length: 20 }, () => 'd'.repeat(250)))
    const error = await expectRefused(
      { golden, root: where.root },
      { code: 'EGOLDEN', paths: [golden], reason: /4095|longer than the kernel resolves/ },
      where,
    )
    expect(error.message).toMatch(/\bbytes\b|kernel/)
  })

  test('one bad layer among good ones is named', async () => {
    const where = await space()
    await writeTree(join(where.base, 'good'), { 'a.txt': 'a' })
    const bad = join(where.base, 'missing-layer')
    await expectRefused(
      { golden: [join(where.base, 'good'), bad], root: where.root },
      { code: 'EGOLDEN', paths: [bad], reason: /does not exist/ },
      where,
    )
  })
})

describe.skipIf(!isRoot)(
  `createScratch: a golden the user cannot read fails before mounting${isRoot ? '' : ' (skipped: needs root to switch to an unprivileged user)'}`,
  () => {
    afterAll(removeTranspiled)

    async function nobodySpace() {
      const where = await space()
      await chown(where.root, NOBODY, NOBODY)
      await chmod(where.root, 0o700)
      return where
    }

    test('a golden dir without read permission names the path, the user and the fix', async () => {
      const where = await nobodySpace()
      const golden = join(where.base, 'golden')
      await writeTree(golden, { 'a.txt': 'a' })
      await chmod(golden, 0o700)

      const outcome = await createScratchAsNobody(where.base, { golden, root: where.root })
      expect(outcome.ok).toBe(false)
      expectRefusal(outcome, {
        code: 'EGOLDEN',
        paths: [golden],
        reason: new RegExp(`not readable by uid ${NOBODY}`),
      })
      expect(await leftViews(where.root)).toEqual([])
    })

    test('a golden below a dir the user cannot search says which permission is missing', async () => {
      const where = await nobodySpace()
      const golden = join(where.base, 'locked', 'golden')
      await writeTree(golden, { 'a.txt': 'a' })
      await chmod(join(where.base, 'locked'), 0o700)

      const outcome = await createScratchAsNobody(where.base, { golden, root: where.root })
      expect(outcome.ok).toBe(false)
      expectRefusal(outcome, {
        code: 'EGOLDEN',
        paths: [golden],
        reason: /cannot be reached|not searchable/,
      })
      expect(await leftViews(where.root)).toEqual([])
    })
  },
)

describe('createScratch: golden layers that overlap fail before mounting', () => {
  for (const [name, pick] of [
    ['the same dir twice', (a: string) => [a, a]],
    ['a layer inside another', (a: string) => [a, join(a, 'sub')]],
    ['a layer holding another', (a: string) => [join(a, 'sub'), join(a, '.', 'sub', '..')]],
  ] as const) {
    test(`${name} names both layers`, async () => {
      const where = await space()
      const a = join(where.base, 'a')
      await writeTree(a, { 'f.txt': 'f', sub: { 'g.txt': 'g' } })
      const golden = pick(a)
      await expectRefused(
        { golden, root: where.root },
        { code: 'EGOLDEN', paths: [...golden], reason: /same directory|overlap/ },
        where,
      )
    })
  }
})
