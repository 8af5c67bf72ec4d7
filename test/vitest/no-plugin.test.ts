import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow } from '../helpers.js'
import { keptPaths, makeProject, runVitest, summaryLines } from './project.js'

const file = `
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, test as base } from 'vitest'
import { scratch } from 'scratchfs/vitest'

const test = base.extend({ scratch: scratch({ golden: '$GOLDEN', root: '$ROOT' }) })

test('passes and leaves nothing', async ({ scratch }) => {
  await writeFile(join(scratch.path, 'passing.txt'), 'gone after the test')
})

test('fails and is kept', async ({ scratch }) => {
  await writeFile(join(scratch.path, 'evidence.txt'), 'kept')
  expect(1).toBe(2)
})
`

describe.skipIf(!isRoot)('scratch fixture without the plugin (needs root to mount)', () => {
  describe.each(['forks', 'threads'])('pool %s', (pool) => {
    test('prints the kept line even with --silent, and no summary', async () => {
      const project = await makeProject({
        'vitest.config.mjs': 'export default {}\n',
        'fixture.test.mjs': file,
      })

      const run = await runVitest(project, ['--pool', pool, '--silent'])

      expect(run.output).toContain('1 failed | 1 passed')
      expect(summaryLines(run)).toEqual([])
      const kept = keptPaths(run)
      expect(kept).toHaveLength(1)
      expect(basename(dirname(kept[0] ?? ''))).toMatch(/^scratchfs-fails-and-is-kept-/)
      expect(await readFile(join(kept[0] ?? '', 'evidence.txt'), 'utf8')).toBe('kept')
      expect(await readdir(project.root)).toEqual([basename(dirname(kept[0] ?? ''))])
      expect(await mountsBelow(project.base)).toEqual([])
    })
  })
})
