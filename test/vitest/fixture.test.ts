import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, snapshot } from '../helpers.js'
import { keptPaths, makeProject, runVitest, summaryLines } from './project.js'

const config = `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: '$GOLDEN', root: '$ROOT' })],
})
`

// A bare \`test\` from scratchfs/vitest: every option comes from the plugin.
const bare = `
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { test } from 'scratchfs/vitest'

for (const n of [1, 2, 3]) {
  test.concurrent('writes its own README ' + n, async ({ scratch }) => {
    await writeFile(join(scratch.path, 'README.md'), 'mine ' + n)
    await writeFile(join(scratch.path, 'src', 'mine.js'), String(n))
    await new Promise((done) => setTimeout(done, 50))
    expect(await readFile(join(scratch.path, 'README.md'), 'utf8')).toBe('mine ' + n)
    expect(await scratch.changes()).toEqual([
      { kind: 'modified', path: 'README.md' },
      { kind: 'added', path: 'src/mine.js' },
    ])
  })
}

test('fails on purpose', async ({ scratch }) => {
  await writeFile(join(scratch.path, 'evidence.txt'), 'what the failing test wrote')
  expect('the truth').toBe('something else')
})
`

// scratch() in test.extend: its options win over the plugin's.
const extended = `
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, test as base } from 'vitest'
import { scratch } from 'scratchfs/vitest'

const test = base.extend({ repo: scratch({ backend: 'copy' }) })

test('gets a copy view', async ({ repo }) => {
  expect(repo.backend).toBe('copy')
  expect(repo.label).toBe('gets a copy view')
  await writeFile(join(repo.path, 'new.txt'), 'x')
})
`

describe.skipIf(!isRoot)(
  'scratch fixture with the scratchfs() plugin (needs root to mount)',
  () => {
    describe.each(['forks', 'threads'])('pool %s', (pool) => {
      test('gives each test a private view, keeps a failed one, and prints one summary', async () => {
        const project = await makeProject({
          'vitest.config.mjs': config,
          'bare.test.mjs': bare,
          'extended.test.mjs': extended,
        })
        const before = await snapshot(project.golden)

        const run = await runVitest(project, ['--pool', pool])

        expect(run.output).toContain('1 failed | 4 passed')
        expect(run.exitCode).toBe(1)
        expect(summaryLines(run)).toEqual([
          expect.stringMatching(
            /^scratchfs: 5 views made, backend copy\+overlay, median setup\+teardown \d+\.\d ms, 1 kept, 0 left over$/,
          ),
        ])

        const [kept, ...more] = keptPaths(run)
        expect(more).toEqual([])
        expect(kept).toBeDefined()
        expect(basename(dirname(kept ?? ''))).toMatch(/^scratchfs-fails-on-purpose-/)
        expect(await readFile(join(kept ?? '', 'evidence.txt'), 'utf8')).toBe(
          'what the failing test wrote',
        )
        // The plugin named the run: the kept view lasts until the next run.
        const record = JSON.parse(await readFile(join(dirname(kept ?? ''), 'owner.json'), 'utf8'))
        expect(record.run.pid).toBe(run.pid)
        // Passing tests left nothing: the root holds the kept view alone.
        expect(await readdir(project.root)).toEqual([basename(dirname(kept ?? ''))])
        expect(await mountsBelow(project.base)).toEqual([])
        expect(await snapshot(project.golden)).toEqual(before)
      })
    })
  },
)
