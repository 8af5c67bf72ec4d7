import { existsSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { UNMOUNT_PATIENCE_MS } from '../../src/mount/unmount.js'
import { RECORD, type ViewRecord } from '../../src/root.js'
import { sweep } from '../../src/sweep.js'
import { captureWarnings, goldenAndRoot, isRoot, mountsBelow } from '../helpers.js'

const setup = () => goldenAndRoot('busy', { 'a.txt': 'a' })

const BUSY_DETAIL = 'Stop child processes and close files inside the view before the test ends.'

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
    expect(warnings).toEqual([
      {
        code: 'SCRATCHFS_BUSY',
        message: `scratchfs view ${JSON.stringify(view.path)} (busy) was still in use after its test and was detached: pid ${holder.pid} (sleep 60) holds cwd ${view.path}. Its directory is left for 'scratchfs clean'.`,
        detail: BUSY_DETAIL,
      },
    ])
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

    expect(warnings).toEqual([
      {
        code: 'SCRATCHFS_BUSY',
        message: expect.stringMatching(
          new RegExp(
            `^scratchfs view "${view.path}" \\(open-file\\) was still in use after its test and was detached: pid ${process.pid} \\(.*node.*\\) holds fd/\\d+ ${view.path}/a.txt\\. Its directory is left for 'scratchfs clean'\\.$`,
          ),
        ),
        detail: BUSY_DETAIL,
      },
    ])
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
