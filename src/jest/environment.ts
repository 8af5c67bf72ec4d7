import { TestEnvironment } from 'jest-environment-node'
import type { Scratch } from '../scratch.js'
import { setCurrentScratch } from '../vitest/current.js'
import { printKept } from '../vitest/report.js'

export type { Scratch } from '../scratch.js'
export { currentScratch, scratchDir } from '../vitest/current.js'
export type { ScratchfsJestOptions } from './options.js'

// Taken from the base class, so no other Jest package is needed for types.
type Config = ConstructorParameters<typeof TestEnvironment>[0]
type Context = ConstructorParameters<typeof TestEnvironment>[1]

/** The part of a jest-circus event this environment reads. */
interface TestEvent {
  name: string
  test?: { errors: readonly unknown[] }
}

interface Opened {
  view: Scratch
  chdir: boolean
  variable: string
  before: { dir: string | undefined; cwd: string }
}

/**
 * The Jest environment `scratchfs/jest-environment`: each test file gets
 * its own view of the golden tree, as `process.env.SCRATCHFS_DIR` (also in
 * child processes) and `scratchDir()` / `currentScratch()` from this module.
 * A file with a failed test keeps what its view changed and prints
 * `scratchfs: kept <path>`.
 *
 * @example
 * // jest.config.js
 * module.exports = {
 *   testEnvironment: 'scratchfs/jest-environment',
 *   testEnvironmentOptions: { scratchfs: { golden: 'fixtures/repo' } },
 * }
 */
export default class ScratchfsEnvironment extends TestEnvironment {
  readonly #given: unknown
  readonly #rootDir: string
  readonly #testPath: string
  #opened: Opened | undefined
  // The last outcome of every test: a test that passed on a retry is no failure.
  readonly #failed = new Set<object>()
  #hookFailed = false

  constructor(config: Config, context: Context) {
    super(config, context)
    this.#given = config.projectConfig.testEnvironmentOptions.scratchfs
    this.#rootDir = config.projectConfig.rootDir
    this.#testPath = context.testPath
  }

  override async setup(): Promise<void> {
    await super.setup()
    // Loaded here rather than on top: test files import this module for the
    // accessors, and Jest loads it anew into every file's sandbox.
    const { DIR_ENV, openView } = await import('./view.js')
    const { view, chdir } = await openView(this.#given, this.#rootDir, this.#testPath)
    const before = { dir: process.env[DIR_ENV], cwd: process.cwd() }
    this.#opened = { view, chdir, variable: DIR_ENV, before }

    // Tests see the sandbox's copy of process.env; child processes get the real one.
    process.env[DIR_ENV] = view.path
    this.global.process.env[DIR_ENV] = view.path
    setCurrentScratch(view, this.global)
    if (chdir) process.chdir(view.path)
  }

  handleTestEvent(event: TestEvent): void {
    if (event.name === 'test_done' && event.test) {
      if (event.test.errors.length > 0) this.#failed.add(event.test)
      else this.#failed.delete(event.test)
    } else if (event.name === 'hook_failure') {
      this.#hookFailed = true
    }
  }

  override async teardown(): Promise<void> {
    try {
      await this.#close()
    } finally {
      await super.teardown()
    }
  }

  async #close(): Promise<void> {
    const opened = this.#opened
    if (!opened) return
    this.#opened = undefined

    const { view, before, variable } = opened
    // The view cannot be unmounted while it is this process's cwd.
    if (opened.chdir) process.chdir(before.cwd)
    setCurrentScratch(undefined, this.global)
    if (before.dir === undefined) delete process.env[variable]
    else process.env[variable] = before.dir

    await view.dispose({ keep: this.#failed.size > 0 || this.#hookFailed })
    if (view.kept !== undefined) printKept(view.kept)
  }
}
