import { inject, type TestContext, test as vitestTest } from 'vitest'
import { baseOf } from '../base.js'
import { ScratchfsError } from '../errors.js'
import type { ScratchOptions } from '../options.js'
import { createScratch, type Scratch } from '../scratch.js'
import { sweepFixtureRoot } from './fixture-root.js'
import { PROVIDE_KEY, withDefaults } from './provided.js'
import { printKept, type ViewReport } from './report.js'

/**
 * Options of one fixture; each one left out comes from the `scratchfs()`
 * plugin. Relative `golden` and `root` paths start at the Vitest project
 * root when the plugin is there (it names the root), else at the cwd.
 */
export type ScratchFixtureOptions = Partial<ScratchOptions> & {
  /**
   * Keep the view of a failed test and print `scratchfs: kept <path>`.
   * @default true
   */
  keepOnFailure?: boolean
}

/** The fixture function `scratch()` returns, for `test.extend`. */
export type ScratchFixture = (
  context: TestContext,
  use: (scratch: Scratch) => Promise<void>,
) => Promise<void>

/**
 * A test fixture that gives each test its own view of the golden tree,
 * labelled with the test's name. A passing test's view is disposed; a
 * failing test's is kept and its path printed as `scratchfs: kept <path>`.
 *
 * @example
 * import { test as base } from 'vitest'
 * import { scratch } from 'scratchfs/vitest'
 *
 * const test = base.extend({ repo: scratch({ golden: 'fixtures/repo' }) })
 *
 * test('rewrites the manifest', async ({ repo }) => {
 *   await writeFile(join(repo.path, 'package.json'), '{}')
 *   expect(await repo.changes()).toEqual([{ kind: 'modified', path: 'package.json' }])
 * })
 */
export function scratch(options: ScratchFixtureOptions = {}): ScratchFixture {
  const { keepOnFailure = true, ...given } = options
  // Vitest reads the fixture's first parameter to learn its dependencies,
  // so it must stay a destructuring pattern.
  return async ({ task, signal, onTestFinished }, use) => {
    const provided = inject(PROVIDE_KEY)
    const merged = withDefaults(provided, { label: task.name, ...given })
    if (merged.golden === undefined) {
      throw new ScratchfsError(
        'EOPTIONS',
        `the scratch fixture of test "${task.name}" has no golden tree`,
        {
          fix: "pass scratch({ golden: 'path/to/golden' }), or add scratchfs({ golden }) from 'scratchfs/config' to the plugins in vitest.config",
        },
      )
    }
    // A test that times out while its view is made aborts the signal:
    // createScratch then stops and takes the view down instead of handing
    // it out. The runner moves on at once and may stop the worker after
    // the last test; waiting for that in a hook lets the take-down finish.
    const making = createScratch({ ...merged, signal } as ScratchOptions)
    onTestFinished(() => making.then(noop, noop))
    const view = await making
    // Only with the plugin: its run, alive, owns the kept views of this one.
    const root =
      provided && given.root !== undefined
        ? await sweepFixtureRoot(given.root, baseOf(merged), provided.startedAt)
        : undefined

    await use(view)

    // The runner sets the state before fixtures are torn down; `fails`
    // tests pass by failing, and only the final verdict counts.
    const failed = (task.result?.state === 'fail') !== (task.fails === true)
    const keep = failed && keepOnFailure
    try {
      await view.dispose({ keep })
    } catch (error) {
      // A failed test keeps its own error: the teardown's goes to a warning.
      if (!failed) throw error
      process.emitWarning(
        `scratchfs could not tear down the view of failed test "${task.name}": ${error}`,
        {
          code: 'SCRATCHFS_TEARDOWN',
        },
      )
    }

    const report: ViewReport = {
      backend: view.backend,
      ms: view.timings.setup + (view.timings.teardown ?? 0),
      retries: view.timings.retries ?? 0,
      ...(view.kept !== undefined && { kept: view.kept }),
      ...(root !== undefined && { root }),
    }
    ;(task.meta as Record<string, unknown>).scratchfs = report
    // With the plugin its reporter prints the line in the main process.
    if (view.kept !== undefined && provided === undefined) printKept(view.kept)
  }
}

/**
 * Vitest's `test` with a `scratch` fixture whose options all come from the
 * `scratchfs()` plugin in vitest.config.
 *
 * @example
 * import { test } from 'scratchfs/vitest'
 *
 * test('deletes the lockfile', async ({ scratch }) => {
 *   await rm(join(scratch.path, 'package-lock.json'))
 * })
 */
export const test = vitestTest.extend<{ scratch: Scratch }>({ scratch: scratch() })

function noop(): void {}
