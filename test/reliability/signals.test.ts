import { existsSync } from 'node:fs'
import { mkdir, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, tempDir, writeTree } from '../helpers.js'
import { childWithViews } from './child.js'

async function setup() {
  const base = await tempDir('signals')
  const golden = join(base, 'golden')
  const root = join(base, 'root')
  await writeTree(golden, { 'a.txt': 'a' })
  await mkdir(root)
  return { golden, root }
}

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
  },
)
