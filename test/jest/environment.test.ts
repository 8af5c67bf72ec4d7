import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, snapshot } from '../helpers.js'
import { keptPaths, makeJestProject, runJest } from './project.js'

const config = `
const scratchfs = { golden: '$GOLDEN', root: '$ROOT' }

module.exports = {
  // Worker processes even for these few fast files, as in a larger suite.
  workerIdleMemoryLimit: '1GB',
  maxWorkers: 2,
  projects: [
    {
      displayName: 'by-config',
      testMatch: ['<rootDir>/by-config/*.test.{js,cjs}'],
      testEnvironment: 'scratchfs/jest-environment',
      testEnvironmentOptions: { scratchfs: { ...scratchfs, chdir: true } },
    },
    {
      displayName: 'by-docblock',
      testMatch: ['<rootDir>/by-docblock/*.test.js'],
      // Relative to rootDir, the project dir.
      testEnvironmentOptions: { scratchfs: { golden: '../golden', root: '../root' } },
    },
  ],
}
`

// Each file checks its own view: it sees the golden, a child process
// writes through SCRATCHFS_DIR, and only this file's writes show. It
// prints its view so the outer test can tell the views apart.
const viewTest = (name: string, header = '') => `${header}
const { execFileSync } = require('node:child_process')
const { readdirSync, readFileSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')

test('${name} works in its own view', () => {
  const dir = process.env.SCRATCHFS_DIR
  expect(dir).toMatch(/\\/scratchfs-${name}\\.test\\.c?js-[^/]+\\/merged$/)
  process.stderr.write('view ${name} ' + dir + ' cwd-is-view ' + (process.cwd() === dir) + '\\n')
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('golden readme\\n')

  execFileSync('sh', ['-c', 'echo ${name} > "$SCRATCHFS_DIR/${name}.txt" && rm "$SCRATCHFS_DIR/README.md"'])
  writeFileSync(join(dir, 'src/index.js'), 'changed by ${name}\\n')
  expect(readdirSync(dir).sort()).toEqual(['${name}.txt', 'package.json', 'src'].sort())
  expect(readFileSync(join(dir, '${name}.txt'), 'utf8')).toBe('${name}\\n')
})
`

// Split so that Jest's docblock reader never takes it for this file's own.
const DOCBLOCK = `/**\n * @jest-${'environment'} scratchfs/jest-environment\n */`

const failingTest = `
const { mkdirSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')

test('fails after writing', () => {
  mkdirSync(join(process.env.SCRATCHFS_DIR, 'notes'))
  writeFileSync(join(process.env.SCRATCHFS_DIR, 'notes/failed.txt'), 'what the test wrote\\n')
  expect('the view').toBe('kept')
})
`

const plainTest = `
test('a file without the docblock gets no view', () => {
  expect(process.env.SCRATCHFS_DIR).toBeUndefined()
})
`

describe.skipIf(!isRoot)('scratchfs/jest-environment (needs root to mount)', () => {
  test('gives each file its own view, by config and by docblock; keeps a failed one', async () => {
    const project = await makeJestProject({
      'jest.config.cjs': config,
      'by-config/one.test.js': viewTest('one'),
      'by-config/two.test.cjs': viewTest('two'),
      'by-config/fail.test.js': failingTest,
      'by-docblock/three.test.js': viewTest('three', DOCBLOCK),
      'by-docblock/plain.test.js': plainTest,
    })
    const before = await snapshot(project.golden)

    const run = await runJest(project)

    expect(run.output).toContain('Tests:       1 failed, 4 passed, 5 total')
    expect(run.output).toMatch(/Expected: "kept"\s+Received: "the view"/)
    const views = run.lines.filter((line) => line.startsWith('view ')).sort()
    expect(views.map((line) => line.replace(/ \/.* cwd/, ' cwd'))).toEqual([
      'view one cwd-is-view true',
      'view three cwd-is-view false',
      'view two cwd-is-view true',
    ])
    expect(new Set(views.map((line) => line.split(' ')[2])).size).toBe(3)

    // The failed file's view: unmounted, and what it wrote is kept.
    const kept = keptPaths(run)
    expect(kept).toHaveLength(1)
    const keptDir = kept[0] ?? ''
    expect(basename(dirname(keptDir))).toMatch(/^scratchfs-fail\.test\.js-/)
    expect(await readFile(join(keptDir, 'notes/failed.txt'), 'utf8')).toBe('what the test wrote\n')
    expect(await readdir(project.root)).toEqual([basename(dirname(keptDir))])

    expect(await mountsBelow(project.base)).toEqual([])
    expect(await snapshot(project.golden)).toEqual(before)
  })
})
