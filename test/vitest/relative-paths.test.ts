import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import { mountsBelow, tempDir, writeTree } from '../helpers.js'
import { makeProject, repo, runBin } from '../project.js'

// Two projects with roots of their own; vitest runs from outside both.
const config = `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ root: '$ROOT', backend: 'copy', summary: false })],
  test: {
    projects: [
      { extends: true, test: { name: 'top', include: ['*.test.mjs'] } },
      {
        extends: true,
        root: 'packages/pkg',
        test: {
          name: 'pkg',
          include: ['*.test.mjs'],
          environment: 'scratchfs',
          environmentOptions: { scratchfs: { golden: 'fixtures/repo' } },
        },
      },
    ],
  },
})
`

const fixtureTest = `
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test as base } from 'vitest'
import { scratch } from 'scratchfs/vitest'

const test = base.extend({
  repo: scratch({ golden: 'fixtures/repo' }),
  missing: scratch({ golden: 'fixtures/missing' }),
})

test('a relative golden starts at the project root', ({ repo }) => {
  expect(readFileSync(join(repo.path, 'README.md'), 'utf8')).toBe('top golden')
})

test('a missing relative golden names the path it tried', ({ missing }) => {})
`

const environmentTest = `
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'

test('the environment takes a relative golden from its own project root', () => {
  expect(readFileSync(join(process.env.SCRATCHFS_DIR, 'README.md'), 'utf8')).toBe('pkg golden')
})
`

describe('relative golden paths in Vitest', () => {
  test('start at the Vitest project root, whatever the cwd of vitest', async () => {
    const project = await makeProject({
      'vitest.config.mjs': config,
      'fixture.test.mjs': fixtureTest,
      'fixtures/repo/README.md': 'top golden',
      'packages/pkg/env.test.mjs': environmentTest,
      'packages/pkg/fixtures/repo/README.md': 'pkg golden',
    })

    // Run from the dir above the project, which holds no fixtures/ of its own.
    const run = await runBin(project, 'vitest', ['run', '--root', project.dir], {
      cwd: project.base,
      env: { CI: '1' },
      timeout: 120_000,
    })

    expect(run.output).toMatch(/✓ a relative golden starts at the project root/)
    expect(run.output).toMatch(/✓ \|pkg\| env\.test\.mjs \(1 test\)/)
    expect(run.output).toContain(
      `golden "fixtures/missing" (from the Vitest project root: ${JSON.stringify(join(project.dir, 'fixtures/missing'))}) does not exist (ENOENT)`,
    )
    expect(run.output).toMatch(/1 failed \| 2 passed/)
    expect(await readdir(project.base)).toEqual(['golden', 'project', 'root'])
    expect(await mountsBelow(project.base)).toEqual([])
  })

  test('createScratch takes them from the current directory, and says so', async () => {
    const base = await tempDir('relative')
    await writeTree(join(base, 'golden'), { 'a.txt': 'a' })

    await expect(createScratch({ golden: 'no/such/golden', root: base })).rejects.toThrow(
      `golden "no/such/golden" (from the current directory: ${JSON.stringify(join(repo, 'no/such/golden'))}) does not exist (ENOENT)`,
    )
  })
})
