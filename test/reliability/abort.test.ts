import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { liveViews } from '../../src/exit.js'
import { createScratch, settle } from '../../src/index.js'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'

describe.skipIf(!isRoot)('createScratch with a signal that aborts (needs root to mount)', () => {
  test('aborted at any point while the view is made: it rejects or resolves, and nothing is left', async () => {
    const base = await tempDir('abort')
    const golden = join(base, 'golden')
    const root = join(base, 'root')
    await writeTree(golden, { 'a.txt': 'a', dir: { 'b.txt': 'b' } })
    await mkdir(root)
    let aborted = 0
    let made = 0

    for (let delay = 0; delay < 40; delay++) {
      const controller = new AbortController()
      const creating = createScratch({
        golden,
        root,
        backend: 'overlay',
        signal: controller.signal,
      })
      await sleep(delay / 4)
      controller.abort(new Error('test timed out'))
      const result = await creating.catch((error: Error) => error)
      if (result instanceof Error) {
        expect(result.message).toBe('test timed out')
        aborted++
      } else {
        made++
        await result.dispose()
      }
      await settle()
      expect(await mountsBelow(root)).toEqual([])
      expect(await readdir(root)).toEqual([])
    }

    expect(aborted).toBeGreaterThan(0)
    expect(made + aborted).toBe(40)
    expect(liveViews()).toBe(0)
  })

  test('an already aborted signal makes nothing at all', async () => {
    const base = await tempDir('abort')
    const golden = join(base, 'golden')
    await writeTree(golden, { 'a.txt': 'a' })
    const root = join(base, 'root')
    const signal = AbortSignal.abort(new Error('gone'))

    await expect(createScratch({ golden, root, signal })).rejects.toThrow('gone')
    expect(await readdir(base)).toEqual(['golden'])
  })
})
