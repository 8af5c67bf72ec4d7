import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createScratch, settle } from '../../src/index.js'
import { sweep } from '../../src/sweep.js'
import { tempDir } from '../helpers.js'
import { repo } from '../project.js'
import { makeProject, runVitest, summaryLines } from '../vitest/project.js'

/** A golden of 12,000 small files: copying it takes a few hundred ms, far past the timeouts here. */
function writeBigGolden(dir: string): void {
  for (let sub = 0; sub < 120; sub++) {
    mkdirSync(join(dir, 'big', `d${sub}`), { recursive: true })
    for (let file = 0; file < 100; file++) {
      writeFileSync(join(dir, 'big', `d${sub}`, `f${file}.txt`), `${sub} ${file}\n`)
    }
  }
}

/** Processes whose command line names `path`: a cp still copying the golden. */
async function processesNaming(path: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(path)) found.push(`${pid} ${cmdline.replaceAll('\0', ' ')}`)
  }
  return found
}

const config = (golden: string, pool: string) => `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: ${JSON.stringify(golden)}, root: '$ROOT', backend: 'copy' })],
  test: { pool: '${pool}' },
})
`

const timingOut = `
import { test } from 'scratchfs/vitest'
for (const n of [1, 2, 3, 4]) {
  test('times out while its copy is made ' + n, { timeout: 150 }, async ({ scratch }) => {})
}
`

describe('a copy view whose making is cut short', () => {
  // One golden for every test here: writing 12,000 files takes a while.
  let golden: string
  beforeAll(async () => {
    golden = await mkdtemp(join(tmpdir(), 'sfs-big-golden-'))
    writeBigGolden(golden)
  })
  afterAll(() => rm(golden, { recursive: true, force: true }))

  test('an aborted signal stops the cps at once and removes the partial copy', async () => {
    const root = join(await tempDir('abort-copy'), 'root')

    let started = performance.now()
    const whole = await createScratch({ golden, root, backend: 'copy' })
    const full = performance.now() - started
    await whole.dispose()
    // Its deletion would otherwise compete with the copy timed next.
    await settle()

    const controller = new AbortController()
    started = performance.now()
    const making = createScratch({ golden, root, backend: 'copy', signal: controller.signal })
    setTimeout(() => controller.abort(new Error('test timed out')), 20)
    await expect(making).rejects.toThrow('test timed out')
    const aborted = performance.now() - started

    expect(aborted).toBeLessThan(full)
    expect(await processesNaming(golden)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('a process that exits while a copy view is made kills its cps and deletes the view', async () => {
    const root = join(await tempDir('exit-copy'), 'root')
    const script = `
      const { createScratch } = await import(${JSON.stringify(join(repo, 'dist/index.js'))})
      createScratch({ golden: process.argv[1], root: process.argv[2], backend: 'copy' })
      setTimeout(() => process.exit(3), 60)`

    const result = await execa('node', ['--input-type=module', '-e', script, golden, root], {
      reject: false,
      env: { DEBUG: 'scratchfs:exit' },
    })

    expect(result.exitCode).toBe(3)
    expect(result.stderr).toMatch(/took down \S+\/scratchfs-view-\w+ at exit: deleted/)
    expect(await processesNaming(golden)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test.each(['forks', 'threads'])(
    'Vitest tests that time out while their copy view is made leave nothing (%s)',
    async (pool) => {
      const project = await makeProject({
        'vitest.config.mjs': config(golden, pool),
        'timeout.test.js': timingOut,
      })

      const run = await runVitest(project)

      expect(run.output).toMatch(/Test timed out in 150ms/)
      expect(run.output).toMatch(/Tests +4 failed \(4\)/)
      expect(summaryLines(run)).toEqual([
        expect.stringMatching(/^scratchfs: 0 views made, .*, 0 left over$/),
      ])
      expect(await processesNaming(golden)).toEqual([])
      expect(await readdir(project.root)).toEqual([])
      expect(await sweep(project.root)).toEqual([])
    },
  )
})
