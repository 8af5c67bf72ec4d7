import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { goldenAndRoot, isRoot, mountsBelow } from '../helpers.js'
import { repo } from '../project.js'

const dist = JSON.stringify(join(repo, 'dist', 'index.js'))

/** Runs `body` as a module with createScratch, settle, sleep, golden and root in scope. */
async function runScript(body: string, golden: string, root: string) {
  const script = `
    import { createScratch, settle } from ${dist}
    import { writeFileSync, mkdirSync, readdirSync } from 'node:fs'
    import { join } from 'node:path'
    const [golden, root] = process.argv.slice(1)
    const sleep = (ms) => new Promise((done) => setTimeout(done, ms))
    const options = { golden, root, backend: 'overlay' }
    ${body}`
  return execa('node', ['--input-type=module', '-e', script, golden, root], {
    reject: false,
    timeout: 60_000,
  })
}

describe.skipIf(!isRoot)('views made ahead of time and deleted later, at exit (needs root)', () => {
  test('a SIGTERM that arrives while a ready view is handed over still ends the process', async () => {
    const { golden, root } = await goldenAndRoot('pool-exit', { 'a.txt': 'a' })
    const result = await runScript(
      `
      await (await createScratch(options)).dispose()
      const second = await createScratch(options)
      await sleep(100)
      await second.dispose()
      await sleep(100)
      process.kill(process.pid, 'SIGTERM')
      const third = await createScratch(options)
      await third.dispose()
      await sleep(200)
      process.stdout.write('survived the signal')`,
      golden,
      root,
    )
    expect(result.signal).toBe('SIGTERM')
    expect(result.stdout).toBe('')
    expect(await mountsBelow(root)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  test('process.exit() while the next view is being made leaves no dir and no mount', async () => {
    const { golden, root } = await goldenAndRoot('pool-exit', { 'a.txt': 'a' })
    for (const wait of [0, 1, 2, 5]) {
      const result = await runScript(
        `
        await (await createScratch(options)).dispose()
        await (await createScratch(options)).dispose()
        await sleep(${wait})
        process.exit(7)`,
        golden,
        root,
      )
      expect(result.exitCode, result.stderr).toBe(7)
      expect(await mountsBelow(root), `exit after ${wait} ms`).toEqual([])
      expect(await readdir(root), `exit after ${wait} ms`).toEqual([])
    }
  })

  test('process.exit() while a disposed view dir is emptied for recycling leaves no dir and no mount', async () => {
    const { golden, root } = await goldenAndRoot('pool-exit', { 'a.txt': 'a' })
    for (const wait of [0, 1, 2, 5]) {
      const result = await runScript(
        `
        for (let index = 0; index < 4; index++) {
          const scratch = await createScratch(options)
          writeFileSync(join(scratch.path, 'b.txt'), 'b')
          await sleep(20)
          await scratch.dispose()
        }
        const waiting = readdirSync(root).filter((name) => name.startsWith('scratchfs--gone-'))
        await sleep(${wait})
        process.stdout.write(String(waiting.length))
        process.exit(7)`,
        golden,
        root,
      )
      expect(result.exitCode, result.stderr).toBe(7)
      // The last view's dir, kept for the next view.
      expect(result.stdout).toBe('1')
      expect(await mountsBelow(root), `exit after ${wait} ms`).toEqual([])
      expect(await readdir(root), `exit after ${wait} ms`).toEqual([])
    }
  })

  test('tests that never yield do not pile up deletions for the exit path', async () => {
    const { golden, root } = await goldenAndRoot('pool-exit', { 'a.txt': 'a' })
    const result = await runScript(
      `
      let most = 0
      for (let index = 0; index < 12; index++) {
        const scratch = await createScratch(options)
        mkdirSync(join(scratch.path, 'out'))
        for (let file = 0; file < 1500; file++) writeFileSync(join(scratch.path, 'out', String(file)), 'x')
        await scratch.dispose()
        const gone = readdirSync(root).filter((name) => name.startsWith('scratchfs--gone-'))
        most = Math.max(most, gone.length)
      }
      process.stdout.write(String(most))`,
      golden,
      root,
    )
    expect(result.exitCode, result.stderr).toBe(0)
    // At most four deletions in flight, and the one just retired.
    expect(Number(result.stdout)).toBeLessThanOrEqual(5)
    expect(Number(result.stdout)).toBeGreaterThan(0)
    expect(await mountsBelow(root)).toEqual([])
    expect(await readdir(root)).toEqual([])
  })
})
