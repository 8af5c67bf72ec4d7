import { existsSync } from 'node:fs'
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import { afterEach, describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { UNMOUNT_PATIENCE_MS } from '../../src/mount/unmount.js'
import { RECORD, type ViewRecord } from '../../src/root.js'
import { sweep } from '../../src/sweep.js'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'

async function setup() {
  const base = await tempDir('busy')
  const golden = join(base, 'golden')
  const root = join(base, 'root')
  await writeTree(golden, { 'a.txt': 'a' })
  await mkdir(root)
  return { golden, root }
}

/** Warnings emitted while a test runs. */
function captureWarnings(): Error[] {
  const seen: Error[] = []
  const listener = (warning: Error) => seen.push(warning)
  process.on('warning', listener)
  afterEach(() => {
    process.off('warning', listener)
  })
  return seen
}

describe.skipIf(!isRoot)('Scratch.dispose on a busy view (needs root to mount)', () => {
  test('a child whose cwd is in the view: retried for the named patience, detached, named, upper left for the sweeper', async () => {
    const { golden, root } = await setup()
    const warnings = captureWarnings()
    const view = await createScratch({ golden, root, backend: 'overlay', label: 'busy' })
    const holder = execa('sleep', ['60'], { cwd: view.path, reject: false })
    await execa('sh', ['-c', 'echo written > "$0/by-test"', view.path])

    const started = performance.now()
    await view.dispose()

    expect(performance.now() - started).toBeGreaterThanOrEqual(UNMOUNT_PATIENCE_MS)
    expect(view.timings.retries).toBeGreaterThan(10)
    const busy = warnings.filter(
      (warning) => (warning as { code?: string }).code === 'SCRATCHFS_BUSY',
    )
    expect(busy).toHaveLength(1)
    expect(busy[0]?.message).toContain(`pid ${holder.pid} (sleep 60) holds cwd ${view.path}`)
    expect(await mountsBelow(root)).toEqual([])

    const dir = dirname(view.path)
    const record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as ViewRecord
    expect(record.detached).toBe(true)
    expect(record.holders?.map((holder) => holder.pid)).toEqual([holder.pid])
    expect(await readFile(join(dir, 'upper', 'by-test'), 'utf8')).toBe('written\n')
    expect(await sweep(root)).toEqual([])

    holder.kill('SIGKILL')
    await holder
    expect((await sweep(root)).map((entry) => entry.dir)).toEqual([dir])
    expect(existsSync(dir)).toBe(false)
  })

  test('an open file of this very process is named too, and dispose still resolves', async () => {
    const { golden, root } = await setup()
    const warnings = captureWarnings()
    const view = await createScratch({ golden, root, backend: 'overlay', label: 'open-file' })
    const file = await open(join(view.path, 'a.txt'), 'r')

    await view.dispose()

    const busy = warnings.find(
      (warning) => (warning as { code?: string }).code === 'SCRATCHFS_BUSY',
    )
    expect(busy?.message).toMatch(
      new RegExp(`pid ${process.pid} \\(.*node.*\\) holds fd/\\d+ ${view.path}/a.txt`),
    )
    expect(await mountsBelow(root)).toEqual([])
    await file.close()
  })

  test('dispose twice, reset twice, dispose after reset: idempotent, one teardown', async () => {
    const { golden, root } = await setup()
    const view = await createScratch({ golden, root, backend: 'overlay' })
    await Promise.all([view.reset(), view.reset()])
    expect(await readFile(join(view.path, 'a.txt'), 'utf8')).toBe('a')

    await Promise.all([view.dispose(), view.dispose()])
    await view.dispose()

    expect(await mountsBelow(root)).toEqual([])
    expect(existsSync(dirname(view.path))).toBe(false)
    await expect(view.reset()).rejects.toThrow(/is disposed/)
  })
})
