#!/usr/bin/env node
// Load test: a real Vitest run, 4 forked workers x 250 tests, every test
// doing random file operations in its own view of one golden, plus tests
// that leave child processes in their views or time out. It then checks
// that nothing leaked and nothing escaped, prints the figures, and exits
// nonzero on any violation. Needs root (or `scratchfs run`) and a build.
//
//   npm run stress            (builds first)
//   node scripts/stress.mjs --workers 4 --tests 250 --files 2000

import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execa } from 'execa'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    tests: { type: 'string', default: '250' },
    files: { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
  },
})
const WORKERS = Number(values.workers)
const TESTS = Number(values.tests)
const FILES = Number(values.files)

/** Tests that misbehave on purpose, all in the first worker's file. */
const CHILD_TESTS = 3
const SETUP_TIMEOUT_TESTS = 3
const USE_TIMEOUT_TESTS = 2

/** The whole run must end within this (CI has 2 cores). */
const RUN_DEADLINE_MS = 180_000

/** Main-process heap growth (after GC) allowed from the first tenth of the views to the end. */
const MAIN_GROWTH_LIMIT_MB = 24

// --- the golden -----------------------------------------------------------

async function makeGolden(dir) {
  for (let index = 0; index < FILES; index++) {
    const path = join(dir, `d${index % 40}`, `f${index}.txt`)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, `golden ${index}\n`)
  }
  await writeFile(join(dir, 'tool.sh'), '#!/bin/sh\necho golden\n')
  await chmod(join(dir, 'tool.sh'), 0o755)
  await symlink('d0/f0.txt', join(dir, 'link-to-f0'))
  await symlink('missing-target', join(dir, 'dangling'))
}

// Names, types, modes, link targets and bytes: equal digests, equal trees.
function digest(dir) {
  const hash = createHash('sha256')
  const walk = (rel) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name
      const info = lstatSync(join(dir, path))
      hash.update(`${path}\0${info.mode}\0`)
      if (info.isSymbolicLink()) hash.update(readlinkSync(join(dir, path)))
      else if (info.isDirectory()) walk(path)
      else hash.update(readFileSync(join(dir, path)))
    }
  }
  walk('')
  return hash.digest('hex')
}

// --- the project ------------------------------------------------------------

const config = (golden, root, results) => `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'
import StressReporter from './stress-reporter.mjs'

export default defineConfig({
  plugins: [scratchfs({ golden: ${JSON.stringify(golden)}, root: ${JSON.stringify(root)}, backend: 'overlay', verify: true })],
  test: {
    pool: 'forks',
    maxWorkers: ${WORKERS},
    execArgv: ['--expose-gc'],
    reporters: ['dot', new StressReporter(${JSON.stringify(results)})],
  },
})
`

// Runs in Vitest's main process: counts views and retries, and samples
// this process's heap after a GC as views accumulate.
const reporter = `
import { writeFileSync } from 'node:fs'

export default class StressReporter {
  constructor(out) {
    this.out = out
    this.views = 0
    this.retries = 0
    this.samples = []
    this.failed = []
  }
  sample() {
    globalThis.gc?.()
    const { heapUsed, rss } = process.memoryUsage()
    this.samples.push({ views: this.views, heapUsed, rss })
  }
  onTestRunStart() {
    this.sample()
  }
  onTestCaseResult(testCase) {
    const report = testCase.meta().scratchfs
    if (report) {
      this.views++
      this.retries = Math.max(this.retries, report.retries ?? 0)
    }
    if (testCase.result().state === 'failed') this.failed.push(testCase.name)
    if (this.views % 50 === 0) this.sample()
  }
  onTestRunEnd() {
    this.sample()
    const { views, retries, samples, failed } = this
    writeFileSync(this.out, JSON.stringify({ views, retries, samples, failed }))
  }
}
`

// One test file per worker. Each test works on its own token: it writes,
// appends, deletes, renames and chmods golden files, adds its own dir, and
// then checks that its view holds exactly its own work and nothing of any
// other test's, and that changes() says exactly what it did.
const testFile = (worker) => `
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { appendFile, chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { test } from 'scratchfs/vitest'

const FILES = ${FILES}
const WORKER = ${worker}

function random(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
const goldenPath = (index) => 'd' + (index % 40) + '/f' + index + '.txt'

async function randomWork(view, id) {
  const next = random(id * 7919 + 13)
  const token = 'w' + WORKER + 't' + id
  const changes = new Map()
  const expected = new Map()
  const picked = new Set()
  while (picked.size < 8) picked.add(Math.floor(next() * FILES))
  const [overwrite, append, remove, moved, modeOnly, ...untouched] = [...picked]

  await writeFile(join(view, goldenPath(overwrite)), token + ' overwrote\\n')
  expected.set(goldenPath(overwrite), token + ' overwrote\\n')
  changes.set(goldenPath(overwrite), 'modified')

  await appendFile(join(view, goldenPath(append)), token + ' appended\\n')
  expected.set(goldenPath(append), 'golden ' + append + '\\n' + token + ' appended\\n')
  changes.set(goldenPath(append), 'modified')

  await rm(join(view, goldenPath(remove)))
  expected.set(goldenPath(remove), null)
  changes.set(goldenPath(remove), 'deleted')

  // Files rename within the overlay; golden dirs would give EXDEV.
  const own = 'own-' + token
  await mkdir(join(view, own, 'sub'), { recursive: true })
  await rename(join(view, goldenPath(moved)), join(view, own, 'moved.txt'))
  expected.set(goldenPath(moved), null)
  expected.set(own + '/moved.txt', 'golden ' + moved + '\\n')
  changes.set(goldenPath(moved), 'deleted')
  changes.set(own + '/moved.txt', 'added')

  await chmod(join(view, goldenPath(modeOnly)), 0o600)
  changes.set(goldenPath(modeOnly), 'modified')

  const count = 1 + Math.floor(next() * 5)
  for (let index = 0; index < count; index++) {
    const path = own + '/sub/n' + index + '.txt'
    await writeFile(join(view, path), token + ' ' + index)
    expected.set(path, token + ' ' + index)
    changes.set(path, 'added')
  }
  await symlink('../' + goldenPath(untouched[0]), join(view, own, 'link'))
  changes.set(own + '/link', 'added')
  await writeFile(join(view, 'tool.sh'), '#!/bin/sh\\necho ' + token + '\\n')
  expected.set('tool.sh', '#!/bin/sh\\necho ' + token + '\\n')
  changes.set('tool.sh', 'modified')

  // Only its own work, and the golden everywhere else.
  for (const [path, content] of expected) {
    if (content === null) await expect(stat(join(view, path))).rejects.toThrow(/ENOENT/)
    else expect(await readFile(join(view, path), 'utf8'), path).toBe(content)
  }
  for (const index of untouched) {
    expect(await readFile(join(view, goldenPath(index)), 'utf8')).toBe('golden ' + index + '\\n')
  }
  expect((await stat(join(view, 'tool.sh'))).mode & 0o777).toBe(0o755)
  expect((await readdir(view)).filter((name) => name.startsWith('own-'))).toEqual([own])
  return [...changes].map(([path, kind]) => ({ kind, path })).sort((a, b) => (a.path < b.path ? -1 : 1))
}

for (let id = 0; id < ${TESTS}; id++) {
  test('random work ' + WORKER + '.' + id, async ({ scratch }) => {
    const expected = await randomWork(scratch.path, WORKER * 100000 + id)
    expect(await scratch.changes()).toEqual(expected)
  })
}
${
  worker === 0
    ? `
for (let id = 0; id < ${CHILD_TESTS}; id++) {
  test('leaves a child in its view ' + id, async ({ scratch }) => {
    const child = spawn('sleep', ['120'], { cwd: scratch.path, detached: true, stdio: 'ignore' })
    child.unref()
    appendFileSync(process.env.STRESS_PIDS, child.pid + '\\n')
  })
}
for (let id = 0; id < ${SETUP_TIMEOUT_TESTS}; id++) {
  // The body never ends, so the test times out even on the rare run where the
  // view is ready within the 1 ms budget.
  test('times out while its view is made ' + id, { timeout: 1 }, async ({ scratch }) => {
    await new Promise(() => {})
  })
}
for (let id = 0; id < ${USE_TIMEOUT_TESTS}; id++) {
  test('times out while it uses its view ' + id, { timeout: 300 }, async ({ scratch }) => {
    await writeFile(join(scratch.path, 'half-done'), '')
    await new Promise(() => {})
  })
}
`
    : ''
}
`

// --- checks -------------------------------------------------------------------

function mountCount() {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).length
}

function mountsUnder(dir) {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(dir))
}

async function main() {
  if (process.getuid?.() !== 0) {
    process.stderr.write("stress: needs root (or run it under 'scratchfs run -- npm run stress')\n")
    return 2
  }
  const started = Date.now()
  const base = await mkdtemp(join(tmpdir(), 'sfs-stress-'))
  const golden = join(base, 'golden')
  const root = join(base, 'root')
  const project = join(base, 'project')
  const results = join(base, 'results.json')
  const pids = join(base, 'pids.txt')
  await makeGolden(golden)
  await mkdir(project, { recursive: true })
  await symlink(join(repo, 'node_modules'), join(project, 'node_modules'))
  await writeFile(join(project, 'vitest.config.mjs'), config(golden, root, results))
  await writeFile(join(project, 'stress-reporter.mjs'), reporter)
  for (let worker = 0; worker < WORKERS; worker++) {
    await writeFile(join(project, `w${worker}.test.js`), testFile(worker))
  }
  await writeFile(pids, '')

  const goldenBefore = digest(golden)
  const mountsBefore = mountCount()
  const ownBefore = mountsUnder(base).length

  const run = await execa(
    process.execPath,
    ['--expose-gc', join(repo, 'node_modules/vitest/vitest.mjs'), 'run'],
    {
      cwd: project,
      reject: false,
      all: true,
      timeout: RUN_DEADLINE_MS,
      env: { STRESS_PIDS: pids, CI: '1', NO_COLOR: '1' },
    },
  )
  const output = run.all ?? ''

  // Children left in views hold them until they end; then clean removes them.
  const children = (await readFile(pids, 'utf8')).split('\n').filter(Boolean).map(Number)
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  await new Promise((done) => setTimeout(done, 200))
  const mountsAfterRun = mountsUnder(root).length
  const left = { kept: 0, detached: 0, other: 0 }
  for (const name of await readdir(root).catch(() => [])) {
    const record = JSON.parse(
      await readFile(join(root, name, 'owner.json'), 'utf8').catch(() => '{}'),
    )
    left[record.kept ? 'kept' : record.detached ? 'detached' : 'other']++
  }
  const clean = await execa(
    process.execPath,
    [join(repo, 'dist/cli/main.js'), 'clean', '--root', root],
    {
      reject: false,
    },
  )

  const figures = JSON.parse(await readFile(results, 'utf8').catch(() => '{}'))
  const violations = []
  const expectedFailures = SETUP_TIMEOUT_TESTS + USE_TIMEOUT_TESTS
  const unexpected = (figures.failed ?? []).filter((name) => !/^times out /.test(name))
  const timedOut = (figures.failed ?? []).length - unexpected.length
  if (unexpected.length > 0) violations.push(`tests failed: ${unexpected.join(', ')}`)
  if (timedOut !== expectedFailures) {
    violations.push(`${timedOut} tests timed out, expected ${expectedFailures}`)
  }
  const goldenChanged = digest(golden) !== goldenBefore
  if (goldenChanged) violations.push('the golden tree changed')
  if (/changed during the run/.test(output)) violations.push('verify reported a golden change')
  const leaks = mountsUnder(base).length + (await readdir(root).catch(() => [])).length
  if (leaks > 0) violations.push(`${leaks} mounts or dirs left after clean`)
  if (left.other > 0 || mountsAfterRun > 0) {
    violations.push(
      `the run left ${left.other} dirs that are neither kept nor detached, ${mountsAfterRun} mounts`,
    )
  }
  if (left.detached !== CHILD_TESTS) {
    violations.push(
      `${left.detached} views detached, expected ${CHILD_TESTS} (one per test that left a child)`,
    )
  }
  // Only this run's dirs count: on a shared machine others mount too.
  const mountsAfter = mountCount()
  const ownAfter = mountsUnder(base).length
  if (ownAfter !== ownBefore)
    violations.push(`mounts under ${base}: ${ownBefore} before, ${ownAfter} after`)
  if (clean.exitCode !== 0) violations.push(`scratchfs clean failed: ${clean.stderr}`)

  const samples = figures.samples ?? []
  const tenth = samples.find((sample) => sample.views >= (figures.views ?? 0) / 10) ?? samples[0]
  const peak = Math.max(...samples.map((sample) => sample.heapUsed))
  const growth = tenth ? (peak - tenth.heapUsed) / 2 ** 20 : Number.NaN
  const rssGrowth = tenth
    ? (Math.max(...samples.map((s) => s.rss)) - tenth.rss) / 2 ** 20
    : Number.NaN
  if (!(growth < MAIN_GROWTH_LIMIT_MB)) {
    violations.push(
      `main process heap grew ${growth.toFixed(1)} MB (limit ${MAIN_GROWTH_LIMIT_MB})`,
    )
  }
  const expectedViews = WORKERS * TESTS + CHILD_TESTS + USE_TIMEOUT_TESTS
  if ((figures.views ?? 0) < expectedViews) {
    violations.push(`${figures.views ?? 0} views reported, expected at least ${expectedViews}`)
  }
  if (!figures.views) violations.push(`the run reported nothing:\n${output.slice(-3000)}`)

  const lines = [
    `stress: ${WORKERS} workers x ${TESTS} tests on a ${FILES}-file golden in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `views made: ${figures.views ?? 0}`,
    `tests timed out on purpose: ${timedOut}, left children on purpose: ${children.length}`,
    `left after the run: ${left.kept} kept views of failed tests, ${left.detached} detached views for the sweeper, ${left.other} other, ${mountsAfterRun} mounts; then ${clean.stdout.trim().split('\n').at(-1)}`,
    `leaks: ${leaks}`,
    `golden changes: ${goldenChanged ? 1 : 0}`,
    `mount count under the run's dirs: ${ownBefore} before, ${ownAfter} after (whole table: ${mountsBefore} before, ${mountsAfter} after)`,
    `max teardown retries: ${figures.retries ?? 0}`,
    `peak memory growth (main process, after GC, from view ${tenth?.views ?? 0} to the end): heap ${growth.toFixed(1)} MB, rss ${rssGrowth.toFixed(1)} MB`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  if (violations.length > 0) {
    process.stderr.write(`stress: FAILED\n${violations.map((v) => `  - ${v}`).join('\n')}\n`)
  }
  if (!values.keep) await rm(base, { recursive: true, force: true })
  return violations.length > 0 ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    process.stderr.write(`stress: ${error.stack ?? error}\n`)
    process.exitCode = 1
  },
)
