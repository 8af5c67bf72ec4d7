import { mkdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createScratch, ScratchfsError, settle } from '../../src/index.js'
import { tempDir } from '../helpers.js'
import { expectRefused, leftViews } from './refused.js'

describe('createScratch: bad options', () => {
  test('every problem is reported at once, unknown options by name', async () => {
    const error = await createScratch({
      golden: 42,
      backend: 'btrfs',
      root: '',
      label: 7,
      goldenDir: '/fixtures',
    } as never).catch((thrown: unknown) => thrown)

    expect(error).toBeInstanceOf(ScratchfsError)
    const { code, message } = error as ScratchfsError
    expect(code).toBe('EOPTIONS')
    expect(message).toMatch(/golden must be .* got 42/)
    expect(message).toMatch(/backend must be one of .*'overlay'.*'copy'.* got "btrfs"/)
    expect(message).toMatch(/root must be a non-empty string, got ""/)
    expect(message).toMatch(/label must be a non-empty string, got 7/)
    expect(message).toMatch(/unknown option "goldenDir"; known options: golden,/)
    expect(message).toMatch(/\nFix: /)
  })

  test('a missing golden option and a non-object say what to pass', async () => {
    for (const options of [{}, undefined, null, 'fixtures/repo', { golden: [] }]) {
      const error = await createScratch(options as never).catch((thrown: unknown) => thrown)
      expect(error, JSON.stringify(options)).toMatchObject({ code: 'EOPTIONS' })
      expect((error as Error).message, JSON.stringify(options)).toMatch(/golden/)
    }
  })
})

describe('createScratch: layer limits', () => {
  async function layers(count: number) {
    const base = await tempDir('layers')
    const root = join(base, 'root')
    await mkdir(root)
    const dirs = Array.from({ length: count }, (_, index) => join(base, 'layers', `${index}`))
    await Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true })))
    return { base, root, dirs }
  }

  test('more than 500 layers fail before mounting, naming the limit', async () => {
    const { base, root, dirs } = await layers(501)
    await expectRefused(
      { golden: dirs, root },
      { code: 'EMOUNT', paths: [], reason: /501 layers; overlayfs takes at most 500/ },
      { base, root },
    )
    expect(await leftViews(root)).toEqual([])
  })

  test('500 layers, the most overlayfs takes, make a working view', async () => {
    const { root, dirs } = await layers(500)
    await using scratch = await createScratch({ golden: dirs, root })
    expect(await scratch.changes()).toEqual([])
  })
})

describe('createScratch: label', () => {
  test('a label with path and option syntax becomes a plain dir name inside the root', async () => {
    const base = await tempDir('label')
    const root = join(base, 'root')
    const golden = join(base, 'golden')
    await mkdir(golden, { recursive: true })
    for (const label of ['../../escape', 'a/b,ro\nc', '..', '', '🦀']) {
      const made = await createScratch({ golden, root, label: label || 'x' })
      try {
        expect(dirname(dirname(made.path)), JSON.stringify(label)).toBe(root)
        expect(basename(dirname(made.path))).toMatch(/^scratchfs-[A-Za-z0-9._-]+$/)
      } finally {
        await made.dispose()
      }
    }
    await settle()
    expect(await leftViews(root)).toEqual([])
  })
})
