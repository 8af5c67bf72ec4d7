import { isMainThread } from 'node:worker_threads'
import type { Environment } from 'vitest/environments'
import { ScratchfsError, show } from '../errors.js'
import type { ScratchOptions } from '../options.js'
import { createScratch } from '../scratch.js'
import { currentFailed, setCurrentScratch } from './current.js'
import { providedFromEnv, withDefaults } from './provided.js'
import { printKept } from './report.js'

/**
 * `environmentOptions.scratchfs`: every option left out comes from the
 * `scratchfs()` plugin. Relative `golden` and `root` paths start at the
 * Vitest project root when the plugin is there, else at the cwd.
 */
export type ScratchfsEnvironmentOptions = Partial<ScratchOptions> & {
  /**
   * Make the view the working directory of the test process while its tests
   * run. Needs `pool: 'forks'`: worker threads cannot change directory.
   * @default false
   */
  chdir?: boolean
}

/** The variable that holds the view's path, for the tests and their child processes. */
export const DIR_ENV = 'SCRATCHFS_DIR'

/**
 * The Vitest environment `scratchfs`: each test worker (each test file, with
 * Vitest's default isolation) gets its own view, as `process.env.SCRATCHFS_DIR`
 * and `scratchDir()` / `currentScratch()` from 'scratchfs/vitest'.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({
 *   test: {
 *     environment: 'scratchfs',
 *     environmentOptions: { scratchfs: { golden: 'fixtures/repo' } },
 *   },
 * })
 */
const environment: Environment = {
  name: 'scratchfs',
  // Test files are transformed like Node code; only the globals differ.
  viteEnvironment: 'ssr',

  async setup(_global, options) {
    const { chdir = false, ...given } = (options.scratchfs ?? {}) as ScratchfsEnvironmentOptions
    checkChdir(chdir)
    const merged = withDefaults(providedFromEnv(), { label: 'environment', ...given })
    if (merged.golden === undefined) {
      throw new ScratchfsError('EOPTIONS', "the 'scratchfs' environment has no golden tree", {
        fix: "set environmentOptions: { scratchfs: { golden: 'path/to/golden' } }, or add scratchfs({ golden }) from 'scratchfs/config' to the plugins in vitest.config",
      })
    }
    const view = await createScratch(merged as ScratchOptions)

    const before = { dir: process.env[DIR_ENV], cwd: process.cwd() }
    process.env[DIR_ENV] = view.path
    setCurrentScratch(view)
    if (chdir) process.chdir(view.path)

    return {
      async teardown() {
        // The view cannot be unmounted while it is this process's cwd.
        if (chdir) process.chdir(before.cwd)
        // Known only with the plugin, whose setup file watches the tests.
        const failed = currentFailed()
        setCurrentScratch(undefined)
        if (before.dir === undefined) delete process.env[DIR_ENV]
        else process.env[DIR_ENV] = before.dir
        await view.dispose({ keep: failed })
        if (view.kept !== undefined) printKept(view.kept)
      },
    }
  },
}

function checkChdir(chdir: unknown): void {
  if (typeof chdir !== 'boolean') {
    throw new ScratchfsError(
      'EOPTIONS',
      `environmentOptions.scratchfs.chdir must be true or false, got ${show(String(chdir))}`,
      { fix: 'pass chdir: true to run the tests inside the view, or leave it out' },
    )
  }
  if (chdir && !isMainThread) {
    throw new ScratchfsError(
      'EOPTIONS',
      "environmentOptions.scratchfs.chdir needs its own process, but this test file runs in a worker thread (pool 'threads'), where process.chdir() is not allowed",
      {
        fix: "set pool: 'forks' in vitest.config, or leave chdir out and use process.env.SCRATCHFS_DIR as the cwd of what you run",
      },
    )
  }
}

export default environment
