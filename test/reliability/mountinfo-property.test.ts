import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createScratch, type Scratch } from '../../src/index.js'
import { type MountEntry, readMountinfo } from '../../src/mount/mountinfo.js'
import { VIEW_PATH_ROOM } from '../../src/root.js'
import { isRoot, tempDir } from '../helpers.js'

// Every character the option parsers treat specially, and words mount(8)
// would eat, in names of goldens and roots.
const PIECES = [
  ',',
  ':',
  '\\',
  '=',
  ' ',
  '\t',
  '\n',
  ',ro',
  'lowerdir=',
  ',nosuid',
  'ü',
  '日本',
  '🙂',
  "'",
  '"',
  '$',
  '*',
  '#',
  '%',
  '..x',
  '-',
]
const LETTERS = 'abcXYZ019._'

/** A small seeded generator, so a failing case can be run again from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

function randomName(next: () => number): string {
  let name = ''
  const parts = 1 + Math.floor(next() * 6)
  for (let index = 0; index < parts; index++) {
    name +=
      next() < 0.6
        ? PIECES[Math.floor(next() * PIECES.length)]
        : LETTERS[Math.floor(next() * LETTERS.length)]
  }
  return name === '.' || name === '..' ? `${name}x` : name
}

const ALLOWED_KERNEL_OPTIONS = new Set(['rw', 'uuid=on', 'fsync=volatile', 'userxattr'])

/**
 * What mountinfo says about a view's mount: exactly one overlay on merged,
 * nosuid,nodev, writable, the layers named by the view's own aliases in
 * order (each alias a link to the intended layer), upper and work its own,
 * and no option nobody asked for.
 */
async function expectExactMount(view: Scratch, layers: readonly string[]): Promise<void> {
  const mounts = (await readMountinfo()).filter((entry) => entry.target === view.path)
  expect(mounts).toHaveLength(1)
  const mount = mounts[0] as MountEntry
  const dir = dirname(view.path)

  expect(mount.fstype).toBe('overlay')
  expect(mount.options.split(',')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev']))
  expect(mount.options.split(',')).not.toContain('ro')

  const lowers: string[] = []
  for (const option of mount.superOptions.split(',')) {
    const [key, value = ''] = [
      option.slice(0, option.indexOf('=')),
      option.slice(option.indexOf('=') + 1),
    ]
    if (key === 'lowerdir') lowers.push(...value.split(':'))
    else if (key === 'lowerdir+') lowers.push(value)
    else if (key === 'upperdir') expect(value).toMatch(/(^|\/)upper$/)
    else if (key === 'workdir') expect(value).toMatch(/(^|\/)work$/)
    else expect(ALLOWED_KERNEL_OPTIONS).toContain(option)
  }
  expect(lowers.map((lower) => lower.split('/').at(-1))).toEqual(
    layers.map((_, index) => `l${index}`),
  )
  const targets = await Promise.all(layers.map((_, index) => readlink(join(dir, `l${index}`))))
  expect(targets).toEqual(layers)
}

describe.skipIf(!isRoot)(
  'mount options and layers under hostile input (needs root to mount)',
  () => {
    test('random golden and root names with , : \\ = space tab newline unicode ,ro lowerdir= mount exactly as meant', async () => {
      const base = await tempDir('property')
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) {
        const next = random(seed)
        const root = join(base, `${seed}`, randomName(next))
        const count = 1 + Math.floor(next() * 4)
        const layers: string[] = []
        for (let index = 0; index < count; index++) {
          const layer = join(base, `${seed}`, `g${index}`, randomName(next))
          await mkdir(layer, { recursive: true })
          await writeFile(join(layer, 'shared'), `layer ${index}`)
          await writeFile(join(layer, `only-${index}`), `${index}`)
          layers.push(layer)
        }

        const view = await createScratch({
          golden: layers,
          root,
          backend: 'overlay',
          label: randomName(next),
        })
        try {
          await expectExactMount(view, layers)
          expect(await readFile(join(view.path, 'shared'), 'utf8'), `seed ${seed}`).toBe('layer 0')
          expect(await readFile(join(view.path, `only-${count - 1}`), 'utf8')).toBe(`${count - 1}`)
          await writeFile(join(view.path, 'written'), 'x')
        } finally {
          await view.dispose()
        }
      }
    })

    test('500 layers mount with every layer in order; 501 fail before mounting, naming the limit', async () => {
      const base = await tempDir('layers')
      const layers: string[] = []
      for (let index = 0; index < 501; index++) layers.push(join(base, 'layers', `,ro:${index}`))
      await Promise.all(
        layers.map((layer, index) =>
          mkdir(layer, { recursive: true }).then(() => writeFile(join(layer, `f${index}`), '')),
        ),
      )
      const root = join(base, 'root')

      const view = await createScratch({ golden: layers.slice(0, 500), root, backend: 'overlay' })
      await expectExactMount(view, layers.slice(0, 500))
      await view.dispose()

      const error = await createScratch({ golden: layers, root, backend: 'overlay' }).catch(
        (e) => e,
      )
      expect(error.code).toBe('EMOUNT')
      expect(error.message).toMatch(/501 layers; overlayfs takes at most 500/)
      expect((await readMountinfo()).filter((entry) => entry.target.startsWith(base))).toEqual([])
    })

    test('goldens and roots with paths near PATH_MAX mount exactly; past it, a clear error before mounting', async () => {
      const base = await tempDir('long')
      const segment = (char: string) => `${char.repeat(200)},ro`
      let deep = join(base, 'g')
      while (Buffer.byteLength(deep) < 3700) deep = join(deep, segment('g'))
      await mkdir(deep, { recursive: true })
      await writeFile(join(deep, 'file'), 'deep')
      // The longest root that leaves a view room for its own paths. Its last
      // name takes what is left, at most 250 bytes whatever the temp dir's
      // length (a name may not pass 255).
      const longest = 4095 - VIEW_PATH_ROOM
      let root = join(base, 'r')
      while (Buffer.byteLength(root) + 1 + 250 < longest) root = join(root, segment('r'))
      root = join(root, 'r'.repeat(longest - Buffer.byteLength(root) - 1))
      expect(Buffer.byteLength(root)).toBe(4095 - VIEW_PATH_ROOM)

      const view = await createScratch({ golden: deep, root, backend: 'overlay' })
      await expectExactMount(view, [deep])
      await view.dispose()

      const tooLong = join(deep, 'x'.repeat(250), 'y'.repeat(250))
      const golden = await createScratch({ golden: tooLong, root, backend: 'overlay' }).catch(
        (e) => e,
      )
      expect(golden.code).toBe('EGOLDEN')
      expect(golden.message).toMatch(
        /bytes long; the kernel resolves at most 4095|longer than the kernel resolves/,
      )

      for (const longRoot of [`${root}x`, join(root, 'z'.repeat(250), 'w'.repeat(250))]) {
        const error = await createScratch({
          golden: deep,
          root: longRoot,
          backend: 'overlay',
        }).catch((e) => e)
        expect(error.code).toBe('EROOT')
        expect(error.message).toMatch(
          /bytes long; views below it need 320 more and the kernel resolves at most 4095/,
        )
      }
      expect((await readMountinfo()).filter((entry) => entry.target.startsWith(base))).toEqual([])
    })
  },
)
