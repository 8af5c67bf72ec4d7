import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  GONE,
  makeViewDir,
  makeViewDirSync,
  READY,
  RECORD,
  type ViewRecord,
  writeRecord,
} from '../../src/root.js'
import { sweep } from '../../src/sweep.js'
import { remainingViews, settledViews } from '../../src/vitest/summary.js'
import { goldenAndRoot, isRoot, mountsBelow } from '../helpers.js'
import { makeProject, runVitest, summaryLines } from './project.js'

const config = `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: '$GOLDEN', root: '$ROOT', backend: 'overlay' })],
})
`

const tests = `
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { expect } from 'vitest'
import { test } from 'scratchfs/vitest'

test('leaves a server running in its view', async ({ scratch }) => {
  const child = spawn('sleep', ['300'], { cwd: scratch.path, detached: true, stdio: 'ignore' })
  child.unref()
  appendFileSync('pids.txt', child.pid + '\\n')
})
test('passes', async ({ scratch }) => {})
test('fails and is kept', async ({ scratch }) => {
  expect(1).toBe(2)
})
`

/** Kills the servers the tests recorded in `pids` (a pid a line), and forgets them. */
async function killServers(pids: string): Promise<void> {
  for (const pid of (await readFile(pids, 'utf8').catch(() => '')).split('\n')) {
    if (pid) process.kill(Number(pid), 'SIGKILL')
  }
  await rm(pids, { force: true })
}

describe.skipIf(!isRoot)('the plugin summary with a busy view (needs root to mount)', () => {
  test('counts a view detached on purpose as busy, not as left over, and does not wait for it', async () => {
    const project = await makeProject({ 'vitest.config.mjs': config, 'busy.test.mjs': tests })
    const pids = join(project.dir, 'pids.txt')
    try {
      const run = await runVitest(project)

      expect(run.output).toMatch(/1 failed \| 2 passed/)
      expect(run.lines.filter((line) => line.includes('[SCRATCHFS_BUSY]'))).toHaveLength(1)
      expect(summaryLines(run)).toEqual([
        expect.stringMatching(
          /^scratchfs: 3 views made, backend overlay, median setup\+teardown \d+\.\d ms, 1 kept, 1 busy \(left for scratchfs clean\), 0 left over$/,
        ),
      ])
      expect(await mountsBelow(project.root)).toEqual([])

      // Counted as the reporter counts at the end of the run: the detached
      // view is there to stay while its holder lives, and is not waited for.
      const records = await Promise.all(
        (await readdir(project.root)).map(
          async (name) =>
            JSON.parse(await readFile(join(project.root, name, RECORD), 'utf8')) as ViewRecord,
        ),
      )
      const detached = records.find((record) => record.detached)
      if (!detached) throw new Error('no view was detached')
      expect(detached.run.pid).toBe(run.pid)
      const started = performance.now()
      expect(await settledViews(project.root, detached.run)).toEqual({
        busy: 1,
        left: 0,
      })
      expect(performance.now() - started).toBeLessThan(1000)
    } finally {
      await killServers(pids)
    }
    await new Promise((done) => setTimeout(done, 100))
    await sweep(project.root, { kept: true })
    expect(await readdir(project.root)).toEqual([])
  })
})

describe('what the summary counts as left over', () => {
  test("deletes the run's unmounted views and ready views that stopped workers left, and skips a live worker's ready view", async () => {
    const { root } = await goldenAndRoot('summary-left', { 'a.txt': 'a' })
    const run = { pid: process.pid, start: 'run-start' }
    const record = { run, backend: 'overlay' as const, label: 'x' }
    const gone = makeViewDirSync(root, GONE, record)
    await mkdir(join(gone, 'upper', 'deep'), { recursive: true })
    await writeFile(join(gone, 'upper', 'deep', 'written.txt'), 'x')
    const ready = makeViewDirSync(root, READY, record)
    // A ready view of a worker that was killed: no test ever had it.
    const orphan = makeViewDirSync(root, READY, record)
    await writeRecord(orphan, {
      ...record,
      owner: { pid: 2 ** 22 + 11, start: '1' },
      created: Date.now(),
    })
    const plain = await makeViewDir(root, 'x', record)

    expect(await remainingViews(root, run)).toEqual({ busy: 0, left: 1 })
    expect((await readdir(root)).sort()).toEqual([basename(plain), basename(ready)].sort())
  })
})

const ownRootConfig = `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: '$GOLDEN', root: '$ROOT', backend: 'overlay' })],
})
`

// The fixture is given a root of its own, relative to the project.
const ownRootTests = `
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { test as base, expect } from 'vitest'
import { scratch } from 'scratchfs/vitest'

const test = base.extend({ repo: scratch({ root: '.scratch' }) })

test('leaves a server running in its view', async ({ repo }) => {
  if (!process.env.LEAVE_SERVER) return
  const child = spawn('sleep', ['300'], { cwd: repo.path, detached: true, stdio: 'ignore' })
  child.unref()
  appendFileSync('pids.txt', child.pid + '\\n')
})
test('fails when told to, and is kept', async ({ repo }) => {
  expect(process.env.FAIL ?? '').toBe('')
})
`

describe.skipIf(!isRoot)(
  'a root given to a fixture, not to the plugin (needs root to mount)',
  () => {
    test('is swept by the next run as the plugin root is, and counted in the summary', async () => {
      const project = await makeProject({
        'vitest.config.mjs': ownRootConfig,
        'own-root.test.mjs': ownRootTests,
      })
      const own = join(project.dir, '.scratch')
      const pids = join(project.dir, 'pids.txt')
      const run = (env: Record<string, string>) => runVitest(project, [], env)
      try {
        const first = await run({ FAIL: '1', LEAVE_SERVER: '1' })
        expect(first.output).toMatch(/1 failed \| 1 passed/)
        expect(summaryLines(first)).toEqual([
          expect.stringMatching(/, 1 kept, 1 busy \(left for scratchfs clean\), 0 left over$/),
        ])
        expect((await readdir(own)).sort()).toHaveLength(2)
        const keptBefore = (await readdir(own)).find((name) => name.includes('fails-when'))

        // The server is gone by the next run: its view and the kept one go.
        await killServers(pids)
        const second = await run({ FAIL: '1' })
        expect(summaryLines(second)).toEqual([expect.stringMatching(/, 1 kept, 0 left over$/)])
        const left = await readdir(own)
        expect(left).toHaveLength(1)
        expect(left).not.toContain(keptBefore)

        const third = await run({})
        expect(third.output).toMatch(/2 passed/)
        expect(await readdir(own)).toEqual([])
        expect(await mountsBelow(project.base)).toEqual([])
      } finally {
        await killServers(pids)
      }
    })
  },
)
