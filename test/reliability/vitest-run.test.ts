import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { sweep } from '../../src/sweep.js'
import { isRoot, mountsBelow } from '../helpers.js'
import { makeProject, type Project, runVitest } from '../vitest/project.js'

const config = (extra = '', pool = 'forks') => `
import { defineConfig } from 'vitest/config'
import { scratchfs } from 'scratchfs/config'

export default defineConfig({
  plugins: [scratchfs({ golden: '$GOLDEN', root: '$ROOT', backend: 'overlay', summary: false${extra} })],
  test: { pool: '${pool}' },
})
`

const imports = `
import { spawn } from 'node:child_process'
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { test } from 'scratchfs/vitest'
`

/** Kills the processes whose pids the inline tests wrote to pids.txt. */
async function killLeftChildren(project: Project): Promise<void> {
  const text = await readFile(join(project.dir, 'pids.txt'), 'utf8').catch(() => '')
  for (const pid of text.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
}

/** Waits until no process of a process group is left (zombies aside). */
async function groupGone(group: number): Promise<void> {
  for (let waited = 0; waited < 200; waited++) {
    const pids = await readdir('/proc').catch(() => [] as string[])
    const stats = await Promise.all(
      pids
        .filter((pid) => /^\d+$/.test(pid))
        .map((pid) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')),
    )
    const alive = stats.some((stat) => {
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return fields[0] !== 'Z' && Number(fields[2]) === group
    })
    if (!alive) return
    await sleep(50)
  }
  throw new Error(`process group ${group} still runs after 10 s`)
}

/** View dirs left in the root that are not kept views of failed tests. */
async function strayViews(root: string): Promise<string[]> {
  const stray: string[] = []
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const record = await readFile(join(root, name, 'owner.json'), 'utf8').catch(() => '{}')
    if (!JSON.parse(record).kept) stray.push(name)
  }
  return stray
}

describe.skipIf(!isRoot)('real Vitest runs under trouble (needs root to mount)', () => {
  test('a test that leaves a child server in its view: the warning names it, and a failing test still shows its own error', async () => {
    const project = await makeProject({
      'vitest.config.mjs': config(),
      'busy.test.js': `${imports}
function leaveChild(dir) {
  const child = spawn('sleep', ['300'], { cwd: dir, detached: true, stdio: 'ignore' })
  child.unref()
  appendFileSync(${JSON.stringify('pids.txt')}, child.pid + '\\n')
}
test.concurrent('passes but leaves a server behind', async ({ scratch }) => {
  leaveChild(scratch.path)
})
test.concurrent('fails and leaves a server behind', async ({ scratch }) => {
  leaveChild(scratch.path)
  expect('its own result').toBe('what the test asserted')
})
`,
    })
    try {
      const run = await runVitest(project)

      expect(run.exitCode).toBe(1)
      expect(run.output).toContain("expected 'its own result' to be 'what the test asserted'")
      expect(run.output).toMatch(/1 failed \| 1 passed/)
      const warnings = run.lines.filter((line) => line.includes('[SCRATCHFS_BUSY]'))
      expect(warnings).toHaveLength(2)
      for (const line of warnings) expect(line).toMatch(/pid \d+ \(sleep 300\) holds cwd /)
      expect(await mountsBelow(project.root)).toEqual([])
    } finally {
      await killLeftChildren(project)
    }
    await sleep(100)
    await sweep(project.root, { kept: true })
    expect(await readdir(project.root)).toEqual([])
  })

  test('tests that time out while their view is made or used leak no mount and no stray dir', async () => {
    const project = await makeProject({
      'vitest.config.mjs': config(),
      'timeout.test.js': `${imports}
for (const n of [1, 2, 3, 4, 5, 6]) {
  test('times out while its view is made ' + n, { timeout: n }, async ({ scratch }) => {})
}
test('times out while it uses its view', { timeout: 200 }, async ({ scratch }) => {
  writeFileSync(join(scratch.path, 'half-done'), '')
  await new Promise(() => {})
})
test('passes', async ({ scratch }) => {})
`,
    })
    const run = await runVitest(project)

    expect(run.output).toMatch(/Test timed out in 1ms/)
    expect(run.output).toMatch(/Test timed out in 200ms/)
    expect(run.output).toMatch(/✓ passes/)
    expect(await mountsBelow(project.root)).toEqual([])
    expect(await strayViews(project.root)).toEqual([])
  })

  test('a SIGKILLed worker leaves mounts that the next run sweeps away', async () => {
    const project = await makeProject({
      'vitest.config.mjs': config(),
      'killed.test.js': `${imports}
test('the worker dies mid-test', async ({ scratch }) => {
  writeFileSync(join(scratch.path, 'last-words'), '')
  process.kill(process.pid, 'SIGKILL')
})
`,
    })
    const first = await runVitest(project)
    expect(first.exitCode).not.toBe(0)
    expect(await mountsBelow(project.root)).toHaveLength(1)

    await execa('sh', ['-c', `rm ${JSON.stringify(join(project.dir, 'killed.test.js'))}`])
    const { writeFile } = await import('node:fs/promises')
    await writeFile(
      join(project.dir, 'fine.test.js'),
      `${imports}\ntest('fine', async ({ scratch }) => {})\n`,
    )
    const second = await runVitest(project)

    expect(second.exitCode).toBe(0)
    expect(await mountsBelow(project.root)).toEqual([])
    expect(await readdir(project.root)).toEqual([])
  })

  test.each(['forks', 'threads'])(
    'Ctrl-C on a run with live views (%s): the run stops and no mount is left',
    async (pool) => {
      const project = await makeProject({
        'vitest.config.mjs': config('', pool),
        'slow.test.js': `${imports}
for (const n of [1, 2, 3, 4]) {
  test.concurrent('waits in its view ' + n, async ({ scratch }) => {
    appendFileSync(${JSON.stringify('started.txt')}, n + '\\n')
    await new Promise((done) => setTimeout(done, 60_000))
  }, 120_000)
}
`,
      })
      const vitest = execa(join(project.dir, 'node_modules/.bin/vitest'), ['run'], {
        cwd: project.dir,
        detached: true,
        reject: false,
        env: { CI: '1' },
      })
      const started = join(project.dir, 'started.txt')
      for (let waited = 0; !existsSync(started) && waited < 200; waited++) await sleep(50)
      await sleep(200)
      expect(await mountsBelow(project.root)).not.toEqual([])

      // What a terminal does on Ctrl-C: SIGINT to the whole foreground group.
      process.kill(-(vitest.pid as number), 'SIGINT')
      const result = await vitest
      // Vitest's main process exits at once; its workers unmount on their own signal.
      await groupGone(vitest.pid as number)

      expect(result.exitCode ?? result.signal).not.toBe(0)
      expect(await mountsBelow(project.root)).toEqual([])
      await sweep(project.root)
      expect(await readdir(project.root)).toEqual([])
    },
  )

  test('verify: a golden changed during the run fails it and lists the paths; hazards are named once', async () => {
    const project = await makeProject({
      'vitest.config.mjs': config(', verify: true'),
      'a.test.js': `${imports}
test('writes to the golden itself by absolute path', async ({ scratch }) => {
  writeFileSync(join(${JSON.stringify('$GOLDEN')}, 'README.md'), 'changed behind the views')
})
`,
      'b.test.js': `${imports}\ntest('fine', async ({ scratch }) => {})\n`,
    })
    const { symlink } = await import('node:fs/promises')
    await symlink('/etc', join(project.golden, 'etc-link'))

    const run = await runVitest(project)

    expect(run.exitCode).toBe(1)
    expect(run.output).toMatch(/2 passed/)
    expect(run.output).toContain(
      `scratchfs: golden ${JSON.stringify(project.golden)} changed during the run (1 paths):\n  - modified README.md`,
    )
    expect(run.lines.filter((line) => line.includes('[SCRATCHFS_GOLDEN_HAZARD]'))).toHaveLength(1)
    expect(run.output).toContain('etc-link: link to "/etc" leaves the golden for a writable place')
  })
})
