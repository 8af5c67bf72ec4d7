// Memory of a real Vitest run: one test file of `views` tests in one
// forks worker, each test writing a file in its own view, with scratchfs
// (the plugin and its `test`) and, as the control, the same file with a
// fixture of Vitest's own that hands every test one plain dir. At the given
// test counts, after a GC, the worker samples its memory and a reporter
// samples the main process's. The control shows what Vitest itself keeps
// per test that uses a fixture; the difference is scratchfs's. Used by run.mjs.
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const project = dirname(here)
const run = promisify(execFile)

export async function vitestMemory(golden, root, views, samples) {
  const out = {}
  for (const variant of ['scratchfs', 'plain fixture']) {
    const dir = join(root, `vitest-memory-${variant === 'scratchfs' ? 'scratchfs' : 'control'}`)
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    await symlink(join(project, 'node_modules'), join(dir, 'node_modules'))
    const results = join(dir, 'samples.json')
    const plugin = variant === 'scratchfs'
    await writeFile(join(dir, 'vitest.config.mjs'), config(plugin, golden, join(root, 'views')))
    await writeFile(join(dir, 'sampler.mjs'), sampler(results))
    const plain = join(dir, 'plain')
    await mkdir(plain)
    await writeFile(join(dir, 'views.test.mjs'), testFile(plugin, views, samples, results, plain))
    await run(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: dir,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 20 * 60_000,
    })
    const lines = (await readFile(results, 'utf8')).trim().split('\n')
    out[variant] = lines.map((line) => JSON.parse(line))
    await rm(dir, { recursive: true, force: true })
  }
  return out
}

const config = (plugin, golden, root) => `
import { defineConfig } from 'vitest/config'
${plugin ? "import { scratchfs } from 'scratchfs/config'" : ''}
import Sampler from './sampler.mjs'

export default defineConfig({
  plugins: [${plugin ? `scratchfs({ golden: ${JSON.stringify(golden)}, root: ${JSON.stringify(root)}, backend: 'overlay', upper: 'disk' })` : ''}],
  test: {
    pool: 'forks',
    maxWorkers: 1,
    execArgv: ['--expose-gc'],
    reporters: [new Sampler()],
  },
})
`

// In the main process: its own heap and RSS when the worker asks for a
// sample (a test named "sample <n>" has just passed).
const sampler = (results) => `
import { appendFileSync } from 'node:fs'

export default class Sampler {
  onTestCaseResult(testCase) {
    const match = /^sample (\\d+)$/.exec(testCase.name)
    if (!match) return
    globalThis.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    appendFileSync(${JSON.stringify(results)}, JSON.stringify({ process: 'main', after: Number(match[1]), rss, heapUsed }) + '\\n')
  }
}
`

const testFile = (plugin, views, samples, results, plain) => `
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
${plugin ? "import { test } from 'scratchfs/vitest'" : "import { test as base } from 'vitest'"}

const samples = new Set(${JSON.stringify(samples)})
${plugin ? '' : `const test = base.extend({ scratch: async ({}, use) => use({ path: ${JSON.stringify(plain)} }) })`}
for (let index = 1; index <= ${views}; index++) {
  test('view ' + index, async ({ scratch }) => {
    writeFileSync(join(scratch.path, 'written.txt'), 'view ' + index)
  })
  if (samples.has(index)) {
    test('sample ' + index, () => {
      globalThis.gc?.()
      const { rss, heapUsed } = process.memoryUsage()
      appendFileSync(${JSON.stringify(results)}, JSON.stringify({ process: 'worker', after: index, rss, heapUsed }) + '\\n')
    })
  }
}
`
