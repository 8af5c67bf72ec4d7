import { ScratchfsError } from '../errors.js'
import type { Scratch } from '../scratch.js'

// The environment and the test file may load scratchfs as two module
// instances (Vitest loads environments apart), so they meet on a global.
const CURRENT = Symbol.for('scratchfs.environment.current')
const FAILED = Symbol.for('scratchfs.environment.failed')

type WithCurrent = { [CURRENT]?: Scratch; [FAILED]?: Map<string, boolean> }

/** `global` is the one the test code sees: Jest runs test files in a vm context of their own. */
export function setCurrentScratch(scratch: Scratch | undefined, global: object = globalThis): void {
  ;(global as WithCurrent)[CURRENT] = scratch
  ;(global as WithCurrent)[FAILED] = new Map()
}

/** Whether a test file runs with a view of the environment's. */
export function hasCurrentScratch(): boolean {
  return (globalThis as WithCurrent)[CURRENT] !== undefined
}

/**
 * How a test that saw the environment's view ended, by its id: a retry
 * that passes replaces the failed attempt before it.
 */
export function recordCurrentVerdict(test: string, failed: boolean): void {
  ;(globalThis as WithCurrent)[FAILED]?.set(test, failed)
}

/** Whether a test failed while the environment's view was current: then it is kept. */
export function currentFailed(): boolean {
  return [...((globalThis as WithCurrent)[FAILED]?.values() ?? [])].some(Boolean)
}

/**
 * The view the `scratchfs` environment made for this test file.
 *
 * @example
 * // vitest.config.ts: environment: 'scratchfs',
 * //   environmentOptions: { scratchfs: { golden: 'fixtures/repo' } }
 * import { currentScratch } from 'scratchfs/vitest'
 *
 * const changes = await currentScratch().changes()
 */
export function currentScratch(): Scratch {
  const scratch = (globalThis as WithCurrent)[CURRENT]
  if (!scratch) {
    throw new ScratchfsError('EOPTIONS', 'there is no scratchfs environment in this test file', {
      fix: "set environment: 'scratchfs' in vitest.config, or put // @vitest-environment scratchfs at the top of the file; for a view per test use the scratch fixture. With Jest, set testEnvironment: 'scratchfs/jest-environment'",
    })
  }
  return scratch
}

/**
 * The path of the view the `scratchfs` environment made for this test file,
 * the same as `process.env.SCRATCHFS_DIR`.
 *
 * @example
 * import { scratchDir } from 'scratchfs/vitest'
 *
 * await execa('git', ['status'], { cwd: scratchDir() })
 */
export function scratchDir(): string {
  return currentScratch().path
}
