import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { readMountinfo } from '../../src/mount/mountinfo.js'
import { snapshot, writeTree } from '../helpers.js'
import { describeEachBackend } from './backends.js'
import { expectNoLeftovers, workspace } from './setup.js'

/** Names that the kernel or mount(8) would read as option syntax. */
const NASTY = [
  'comma,in,name',
  'colon:in:name',
  'back\\slash\\,ro',
  'equals=sign',
  'with space',
  'new\nline',
  'ünïcødé 日本語 🦀',
  ',ro',
  'x,ro,',
  'lowerdir=/etc',
  'app,lowerdir=/etc',
  'upperdir=',
  'a:b,workdir=/tmp,ro',
]

/**
 * Superblock options scratchfs asks for or the kernel adds (redirect_dir
 * with userxattr, in a user namespace); anything else leaked in.
 */
const KNOWN_SUPER = new Set([
  'rw',
  'uuid',
  'index',
  'volatile',
  'fsync',
  'userxattr',
  'redirect_dir',
])

/** A layer, upper or work dir may only be named by its alias, never by a user path. */
const ALIAS = (name: string) => new RegExp(`^(/proc/self/fd/\\d+/)?${name}$`)

/** What is wrong with an overlay's superblock options, as readable lines. */
function superOptionsProblems(superOptions: string): string[] {
  const problems: string[] = []
  const lowers: string[] = []
  for (const option of superOptions.split(',')) {
    const [key = '', value = ''] = option.split(/=(.*)/s)
    if (key === 'lowerdir') lowers.push(...value.split(':'))
    else if (key === 'lowerdir+') lowers.push(value)
    else if (key === 'upperdir' || key === 'workdir') {
      if (!ALIAS(key.slice(0, -3)).test(value)) problems.push(`${key} is ${value}`)
    } else if (!KNOWN_SUPER.has(key)) problems.push(`unexpected option ${JSON.stringify(option)}`)
  }
  if (lowers.length !== 1 || !ALIAS('l0').test(lowers[0] ?? '')) {
    problems.push(`lower dirs are ${JSON.stringify(lowers)}`)
  }
  return problems
}

describeEachBackend('createScratch: hostile path names', (backend) => {
  afterEach(expectNoLeftovers)

  for (const name of NASTY) {
    // fuse-overlayfs resolves every path it gets and splits the result on
    // ':', so it cannot take such a path; scratchfs says so before mounting.
    if (backend === 'fuse-overlayfs' && name.includes(':')) {
      test(`${JSON.stringify(name)} is refused with the reason, golden or root`, async () => {
        const inRoot = await workspace({ 'file.txt': 'x' }, { root: join('root', name) })
        await expect(
          createScratch({ golden: inRoot.golden, root: inRoot.root, backend }),
        ).rejects.toThrow(/fuse-overlayfs cannot take a path with ':'/)
        const inGolden = await workspace({ 'file.txt': 'x' }, { golden: join('golden', name) })
        await expect(
          createScratch({ golden: inGolden.golden, root: inGolden.root, backend }),
        ).rejects.toThrow(/fuse-overlayfs cannot take a path with ':'/)
      })
      continue
    }
    test(`${JSON.stringify(name)} works as golden and as root`, async () => {
      const space = await workspace(
        { 'file.txt': 'golden bytes', dir: { 'inner.txt': 'inner' } },
        { golden: join('golden', name), root: join('root', name) },
      )
      const before = await snapshot(space.golden)

      await using scratch = await createScratch({ golden: space.golden, root: space.root, backend })
      expect(scratch.path.startsWith(`${space.root}/scratchfs-`)).toBe(true)
      expect(await snapshot(scratch.path)).toEqual(before)

      await writeFile(join(scratch.path, 'dir', 'inner.txt'), 'written')
      expect(await readFile(join(scratch.path, 'dir', 'inner.txt'), 'utf8')).toBe('written')
      expect(await scratch.changes()).toEqual([{ kind: 'modified', path: 'dir/inner.txt' }])
      expect(await snapshot(space.golden)).toEqual(before)

      if (backend === 'overlay') {
        const mount = (await readMountinfo()).find((entry) => entry.target === scratch.path)
        expect(mount?.fstype).toBe('overlay')
        const options = mount?.options.split(',') ?? []
        expect(options).toContain('rw')
        expect(options).toEqual(expect.arrayContaining(['nosuid', 'nodev']))
        expect(options).not.toContain('ro')
        expect(superOptionsProblems(mount?.superOptions ?? '')).toEqual([])
      }
    })
  }
})

describeEachBackend('createScratch: long paths', (backend) => {
  afterEach(expectNoLeftovers)

  test('five layers of 1000-byte paths (past the 256-byte value and one-page option limits) work, under a long root', async () => {
    const long = (tag: string) =>
      join(...Array.from({ length: 5 }, () => `${tag}-${'x'.repeat(195)}`))
    const space = await workspace({ 'top.txt': 'top' }, { golden: long('g0'), root: long('r') })
    const layers = [space.golden]
    for (let index = 1; index < 5; index++) {
      const layer = join(space.base, long(`g${index}`))
      await writeTree(layer, { [`layer${index}.txt`]: `${index}`, 'top.txt': 'hidden' })
      layers.push(layer)
    }
    expect(layers.reduce((sum, layer) => sum + Buffer.byteLength(layer), 0)).toBeGreaterThan(4096)

    await using scratch = await createScratch({ golden: layers, root: space.root, backend })
    expect((await readdir(scratch.path)).sort()).toEqual([
      'layer1.txt',
      'layer2.txt',
      'layer3.txt',
      'layer4.txt',
      'top.txt',
    ])
    expect(await readFile(join(scratch.path, 'top.txt'), 'utf8')).toBe('top')
    await writeFile(join(scratch.path, 'layer4.txt'), 'changed')
    expect(await scratch.changes()).toEqual([{ kind: 'modified', path: 'layer4.txt' }])
  })
})
