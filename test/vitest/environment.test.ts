import { readdir } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { describe, expect, test } from 'vitest'
import { isRoot, mountsBelow, snapshot } from '../helpers.js'
import { keptPaths, makeProject, runVitest } from './project.js'

const config = (pool: string) => `
import { defineConfig } from 'vitest/config'

const scratchfs = { golden: '$GOLDEN', root: '$ROOT' }

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'by-name',
          include: ['by-name/*.test.mjs'],
          environment: 'scratchfs',
          environmentOptions: { scratchfs: { ...scratchfs, chdir: ${pool === 'forks'} } },
        },
      },
      {
        test: {
          name: 'by-comment',
          include: ['by-comment/*.test.mjs'],
          environmentOptions: { scratchfs },
        },
      },
      ${
        pool === 'threads'
          ? `{
        test: {
          name: 'chdir-in-threads',
          include: ['chdir/*.test.mjs'],
          environment: 'scratchfs',
          environmentOptions: { scratchfs: { ...scratchfs, chdir: true } },
        },
      },`
          : ''
      }
    ],
  },
})
`

// Each file checks its own view: a child process writes through
// SCRATCHFS_DIR, the accessor agrees, and only this file's write shows.
const viewTest = (name: string, header = '') => `${header}
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { currentScratch, scratchDir } from 'scratchfs/vitest'

test('${name} has its own view', async () => {
  const dir = process.env.SCRATCHFS_DIR
  expect(dir).toMatch(/scratchfs-environment-/)
  expect(scratchDir()).toBe(dir)
  execFileSync('sh', ['-c', 'echo ${name} > "$SCRATCHFS_DIR/${name}.txt"'])
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('golden readme\\n')
  expect(await currentScratch().changes()).toEqual([{ kind: 'added', path: '${name}.txt' }])
  console.log('cwd-is-view', process.cwd() === dir)
})
`

// Split so that Vitest does not read it as this file's own comment.
const ENVIRONMENT_COMMENT = `// @vitest-${'environment'} scratchfs`

const plainTest = `
import { expect, test } from 'vitest'
import { scratchDir } from 'scratchfs/vitest'

test('a file without the comment gets no view', () => {
  expect(process.env.SCRATCHFS_DIR).toBeUndefined()
  expect(() => scratchDir()).toThrow(/environment: 'scratchfs'/)
})
`

const chdirTest = `
import { test } from 'vitest'
test('never runs', () => {})
`

describe.skipIf(!isRoot)("the 'scratchfs' environment (needs root to mount)", () => {
  describe.each(['forks', 'threads'])('pool %s', (pool) => {
    test('gives each file its own view, by name and by per-file comment', async () => {
      const project = await makeProject({
        'vitest.config.mjs': config(pool),
        'by-name/one.test.mjs': viewTest('one'),
        'by-name/two.test.mjs': viewTest('two'),
        'by-comment/three.test.mjs': viewTest('three', ENVIRONMENT_COMMENT),
        'by-comment/plain.test.mjs': plainTest,
        ...(pool === 'threads' && { 'chdir/chdir.test.mjs': chdirTest }),
      })
      const before = await snapshot(project.golden)

      const run = await runVitest(project, ['--pool', pool])

      expect(run.output).toContain('4 passed (4)')
      // chdir works in forks only; threads say to use forks instead.
      const cwd = run.lines.filter((line) => line.startsWith('cwd-is-view')).sort()
      const inView = pool === 'forks' ? 2 : 0
      expect(cwd).toEqual([
        ...Array(3 - inView).fill('cwd-is-view false'),
        ...Array(inView).fill('cwd-is-view true'),
      ])
      if (pool === 'threads') {
        expect(run.output).toMatch(/process\.chdir\(\) is not allowed/)
        expect(run.output).toMatch(/Fix: set pool: 'forks'/)
      }
      expect(await readdir(project.root)).toEqual([])
      expect(await mountsBelow(project.base)).toEqual([])
      expect(await snapshot(project.golden)).toEqual(before)
    })
  })
})

const keptConfig = (pool: string) => `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: '$GOLDEN', root: '$ROOT' })],
  test: { environment: 'scratchfs', pool: '${pool}' },
})
`

// Each file writes one file into its view, then its test ends as named.
const endingTest = (name: string, ending: string) => `
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'

test${ending === 'fails' ? '.fails' : ''}('${name}', () => {
  writeFileSync(join(process.env.SCRATCHFS_DIR, 'from-${name}.txt'), '${name}')
  ${ending === 'pass' ? '' : 'expect(1).toBe(2)'}
})
`

// Fails its first attempt and passes its second: the file passes.
const retriedTest = `
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'

let attempts = 0
test('retried', { retry: 2 }, () => {
  writeFileSync(join(process.env.SCRATCHFS_DIR, 'from-retried.txt'), 'retried')
  expect(++attempts).toBe(2)
})
`

// A hook of the file's fails; no test does.
const hookFails = (hook: string) => `
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ${hook}, test } from 'vitest'

${hook}(() => {
  writeFileSync(join(process.env.SCRATCHFS_DIR, 'from-${hook}.txt'), '${hook}')
  throw new Error('${hook} fails')
})
test('runs', () => {})
`

describe.skipIf(!isRoot)(
  "the 'scratchfs' environment with the plugin (needs root to mount)",
  () => {
    test.each(['forks', 'threads'])(
      'keeps the view of a file whose test failed, and prints where (pool %s)',
      async (pool) => {
        const project = await makeProject({
          'vitest.config.mjs': keptConfig(pool),
          'passes.test.mjs': endingTest('passes', 'pass'),
          'fails.test.mjs': endingTest('fails', 'fail'),
          'expected-to-fail.test.mjs': endingTest('expected-to-fail', 'fails'),
          'retried.test.mjs': retriedTest,
          'before-all-fails.test.mjs': hookFails('beforeAll'),
        })
        const before = await snapshot(project.golden)

        const run = await runVitest(project, ['--pool', pool])

        expect(run.output).toMatch(/Test Files {2}2 failed \| 3 passed \(5\)/)
        const kept = keptPaths(run)
        const keptFiles = await Promise.all(kept.map((dir) => readdir(dir)))
        expect(keptFiles.flat().sort(), run.output).toEqual([
          'from-beforeAll.txt',
          'from-fails.txt',
        ])
        expect((await readdir(project.root)).sort()).toEqual(
          kept.map((dir) => basename(dirname(dir))).sort(),
        )
        expect(await mountsBelow(project.base)).toEqual([])
        expect(await snapshot(project.golden)).toEqual(before)
      },
    )
  },
)
