import { readdir } from 'node:fs/promises'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow } from '../helpers.js'
import { makeJestProject, runJest } from './project.js'

const config = `
module.exports = {
  workerThreads: true,
  // Worker threads even for these few fast files, as in a larger suite.
  workerIdleMemoryLimit: '1GB',
  maxWorkers: 2,
  projects: [
    {
      displayName: 'accessors',
      testMatch: ['<rootDir>/accessors/*.test.mjs'],
      testEnvironment: 'scratchfs/jest-environment',
      testEnvironmentOptions: { scratchfs: { golden: '$GOLDEN', root: '$ROOT' } },
    },
    {
      displayName: 'chdir',
      testMatch: ['<rootDir>/chdir/*.test.js'],
      testEnvironment: 'scratchfs/jest-environment',
      testEnvironmentOptions: { scratchfs: { golden: '$GOLDEN', root: '$ROOT', chdir: true } },
    },
    {
      displayName: 'bad',
      testMatch: ['<rootDir>/bad/*.test.js'],
    },
  ],
}
`

// The accessors read the view from the global of the file's own vm context.
const accessorTest = `
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { currentScratch, scratchDir } from 'scratchfs/jest-environment'

test('scratchDir() and currentScratch() give the file its view', async () => {
  expect(scratchDir()).toBe(process.env.SCRATCHFS_DIR)
  writeFileSync(join(scratchDir(), 'added.txt'), 'added\\n')
  expect(await currentScratch().changes()).toEqual([{ kind: 'added', path: 'added.txt' }])
})
`

const neverRuns = `
test('never runs', () => {})
`

// Split so that Jest's docblock reader never takes it for this file's own.
const docblock = (options?: unknown) =>
  [
    '/**',
    ` * @jest-${'environment'} scratchfs/jest-environment`,
    ...(options === undefined
      ? []
      : [` * @jest-${'environment'}-options ${JSON.stringify(options)}`]),
    ' */',
    neverRuns,
  ].join('\n')

describe.skipIf(!isRoot)(
  'scratchfs/jest-environment accessors and options (needs root to mount)',
  () => {
    test('accessors work in ESM test files; bad options fail the file, naming the option and the fix', async () => {
      const project = await makeJestProject({
        'jest.config.cjs': config,
        'accessors/view.test.mjs': accessorTest,
        'chdir/in-a-thread.test.js': neverRuns,
        'bad/missing.test.js': docblock(),
        'bad/wrong.test.js': docblock({
          scratchfs: { golden: '$GOLDEN', backend: 'overlayy', chdir: 'yes', colour: 1 },
        }),
      })

      const run = await runJest(project, [], { vmModules: true })

      expect(run.output).toContain('Tests:       1 passed, 1 total')
      expect(run.output).toContain('Test Suites: 3 failed, 1 passed, 4 total')
      expect(run.output).toContain('ScratchfsError: testEnvironmentOptions.scratchfs is missing')
      expect(run.output).toContain(
        "Fix: set testEnvironmentOptions: { scratchfs: { golden: 'path/to/golden' } } in jest.config",
      )
      // Every problem of one file at once.
      expect(run.output).toMatch(
        /ScratchfsError: invalid testEnvironmentOptions\.scratchfs:\n\s+- chdir must be true or false, got "yes".*\n\s+- backend must be one of .*; got "overlayy"\n\s+- unknown option "colour"; known options: chdir, golden,.*\n\s*Fix: correct testEnvironmentOptions\.scratchfs in jest\.config/,
      )
      expect(run.output).toMatch(
        /testEnvironmentOptions\.scratchfs\.chdir needs its own process, but this test file runs in a worker thread/,
      )
      expect(run.output).toMatch(/Fix: leave workerThreads out of jest\.config/)

      expect(await readdir(project.root)).toEqual([])
      expect(await mountsBelow(project.base)).toEqual([])
    })
  },
)
