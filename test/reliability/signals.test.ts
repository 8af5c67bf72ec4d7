import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { describe, expect, test } from 'vitest'
import { goldenAndRoot, isRoot, mountsBelow } from '../helpers.js'
import { childWithViews } from './child.js'

const setup = () => goldenAndRoot('signals', { 'a.txt': 'a' })

describe.skipIf(!isRoot)(
  'a process with live views that gets a signal (needs root to mount)',
  () => {
    test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
      '%s unmounts and deletes its views, then the process dies of the signal as it would have',
      async (signal) => {
        const { golden, root } = await setup()
        const child = await childWithViews(root, golden, 3, { nested: true })
        expect(await mountsBelow(root)).toHaveLength(6)

        child.process.kill(signal)
        const result = await child.process

        expect(result.signal).toBe(signal)
        expect(await mountsBelow(root)).toEqual([])
        for (const view of child.views) expect(existsSync(dirname(view))).toBe(false)
        expect(await readdir(root)).toEqual([])
      },
    )

    test('SIGTERM also takes down the view made ahead of time for the next test', async () => {
      const { golden, root } = await setup()
      const child = await childWithViews(root, golden, 2, { pool: true })
      expect(child.ready).toMatch(/\/scratchfs--ready-[^/]+\/merged$/)
      expect(await mountsBelow(root)).toHaveLength(3)

      child.process.kill('SIGTERM')
      const result = await child.process

      expect(result.signal).toBe('SIGTERM')
      expect(await mountsBelow(root)).toEqual([])
      expect(await readdir(root)).toEqual([])
    })

    test.each(['ready', '-ready', 'gone-x'])(
      'a view labelled %j, handed over from the pool, is still taken down on SIGTERM',
      async (label) => {
        const { golden, root } = await setup()
        const child = await childWithViews(root, golden, 3, { pool: true, label })
        expect(await mountsBelow(root)).toHaveLength(4)

        child.process.kill('SIGTERM')
        await child.process

        expect(await mountsBelow(root)).toEqual([])
        expect(await readdir(root)).toEqual([])
      },
    )
  },
)
