import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import type { Backend, BackendName, View } from './backends/types.js'
import type { Change } from './changes.js'
import { debug } from './debug.js'
import { errnoOf, ScratchfsError, show } from './errors.js'
import { trackView, untrackView } from './exit.js'
import { keepChanges } from './keep.js'
import { describeHolders, waitForRelease } from './mount/holders.js'
import { UNMOUNT_PATIENCE_MS, type UnmountResult } from './mount/unmount.js'
import { checkOptions, type ScratchOptions } from './options.js'
import { dropReady, prepareNext, recycle, takeReady } from './pool.js'
import { removeTree } from './remove.js'
import { removeView, retired, retireView } from './retire.js'
import { makeViewDir, updateRecord } from './root.js'
import { forgetSetups, type Setup, setUp } from './setup.js'
import { dropUpper, placeUpper } from './upper.js'
import { verifyGoldens } from './verify.js'

const log = debug('scratch')

const DONE: Promise<void> = Promise.resolve()
const noop = () => {}

export interface DisposeOptions {
  /**
   * Keep what the view changed for debugging: the view is unmounted like any
   * other, and the files it wrote stay in `kept` at their relative paths.
   * @default false
   */
  keep?: boolean
}

/**
 * Makes a private, writable view of the golden tree.
 *
 * @example
 * await using scratch = await createScratch({ golden: 'fixtures/repo' })
 * await writeFile(join(scratch.path, 'README.md'), 'changed')
 * expect(await scratch.changes()).toEqual([{ kind: 'modified', path: 'README.md' }])
 */
export async function createScratch(options: ScratchOptions): Promise<Scratch> {
  const started = performance.now()
  const checked = checkOptions(options)
  const label = checked.label ?? 'view'
  const signal = checked.signal
  signal?.throwIfAborted()

  const setup = await setUp(checked)
  const { layers, root, plan, backend } = setup
  if (checked.verify) await verifyGoldens(layers.map((layer) => layer.path))
  signal?.throwIfAborted()

  const pool = {
    root,
    home: plan.home,
    layers: layers.map((layer) => layer.path),
    backend,
    run: setup.run,
  }
  // A view mounted ahead of time is handed over where one is ready.
  const handed = await takeReady(pool, label)
  const view = handed ?? (await makeView(checked, setup, label))
  try {
    // A test that timed out while its view was being made has moved on and
    // will never dispose it: take it down here.
    signal?.throwIfAborted()
  } catch (error) {
    await abandon(view, backend)
    throw error
  }
  prepareNext(pool, handed !== undefined)

  log('created %s (%s) in %d ms', view.merged, backend.name, performance.now() - started)
  return new Scratch(view, backend, label, performance.now() - started)
}

/**
 * Finishes what scratchfs does in the background in this thread: takes down
 * the view made ahead of time for the next test, and waits until every
 * disposed view's directory is deleted. A process that exits does both on
 * its own; call it to check that nothing is left while the process runs.
 *
 * @example
 * await scratch.dispose()
 * await settle()
 * expect(readdirSync(root)).toEqual([])
 */
export async function settle(): Promise<void> {
  await dropReady()
  await retired()
}

async function makeView(options: ScratchOptions, setup: Setup, label: string): Promise<View> {
  const { backend, plan } = setup
  const record = { run: setup.run, backend: backend.name, label }
  let dir: string
  try {
    dir = await makeViewDir(setup.root, label, record)
  } catch (error) {
    // The root may have gone since it was checked: check it again, once.
    forgetSetups()
    if (errnoOf(error) !== 'ENOENT') throw error
    dir = await makeViewDir((await setUp(options)).root, label, record)
  }
  // From here a signal or an exit unmounts the view, even half made.
  trackView(dir)
  const view: View = {
    dir,
    merged: join(dir, 'merged'),
    ...(await placeUpper(dir, backend.name === 'copy' ? undefined : plan.home)),
    layers: setup.layers.map((layer) => layer.path),
  }
  try {
    await backend.create(view, options.signal)
  } catch (error) {
    await abandon(view, backend)
    // A test that timed out gets its own reason back; only a real failure
    // makes the next view check everything again.
    if (options.signal?.aborted) throw options.signal.reason
    forgetSetups()
    throw error
  }
  return view
}

// Takes down a view no test will get; a busy one is the sweeper's.
async function abandon(view: View, backend: Backend): Promise<void> {
  const taken = await backend.destroy(view).catch(() => undefined)
  if (taken && !taken.detached) await removeView(view).catch(() => {})
  if (taken) untrackView(view.dir)
}

/** One private view of a golden tree. */
export class Scratch implements AsyncDisposable {
  /** The merged directory the test works in (a canonical realpath). */
  readonly path: string
  /** The backend that made the view. */
  readonly backend: BackendName
  readonly label: string
  /** Set by `dispose({ keep: true })`: the directory that holds the kept changes. */
  kept: string | undefined
  /** How long creating and disposing the view took, in milliseconds. */
  readonly timings: { setup: number; teardown?: number; retries?: number }

  // Let go of once disposed: a runner may keep the object as long as it
  // keeps the test (Vitest keeps every test's context), and the view's
  // paths and promises would stay with it, test after test.
  #view: View | undefined
  readonly #backend: Backend
  #busy: Promise<unknown> = DONE
  #disposed: Promise<void> | undefined

  constructor(view: View, backend: Backend, label: string, setup: number) {
    this.#view = view
    this.#backend = backend
    this.path = view.merged
    this.backend = backend.name
    this.label = label
    this.timings = { setup }
  }

  /** What the view changed, sorted by path. */
  changes(): Promise<Change[]> {
    return this.#serial(() => this.#backend.changes(this.#live()))
  }

  /** Puts the view back to the golden; `path` stays the same. */
  reset(): Promise<void> {
    return this.#serial(async () => {
      const view = this.#live()
      // Resetting deletes the upper: with a process still writing into it,
      // its writes would vanish. Refuse, naming who holds the view.
      const holders = await waitForRelease(view.merged, UNMOUNT_PATIENCE_MS)
      if (holders.length > 0) {
        throw new ScratchfsError(
          'EBUSY',
          `scratch view ${show(this.path)} (${this.label}) cannot be reset while in use: ${describeHolders(holders)}`,
          {
            path: this.path,
            fix: 'stop the processes and close the files inside the view before reset()',
          },
        )
      }
      await this.#takeDown(view)
      await emptyView(view)
      await this.#backend.create(view)
    })
  }

  /**
   * Unmounts the view; calling it again does nothing. Its directory is
   * deleted in the background, gone by the time the process exits (or
   * `settle()` resolves).
   */
  dispose(options: DisposeOptions = {}): Promise<void> {
    if (this.#disposed) return this.#disposed
    const disposing = this.#busy.catch(() => {}).then(() => this.#dispose(options.keep ?? false))
    this.#disposed = disposing
    // A failure stays to be returned again; a success needs no promise of its own.
    disposing.then(() => {
      this.#disposed = DONE
    }, noop)
    return disposing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose()
  }

  async #dispose(keep: boolean): Promise<void> {
    const started = performance.now()
    const view = this.#live()
    if (keep) this.kept = await this.#keep(view)
    const unmounted = await this.#takeDown(view)
    untrackView(view.dir)
    this.timings.retries = unmounted.retries
    if (unmounted.detached) {
      // Holders may still write into the upper: leave it for the sweeper.
      const holders = unmounted.detached.map(({ pid, start }) => ({ pid, start }))
      await updateRecord(view.dir, { detached: true, holders })
    } else if (this.kept !== undefined) {
      await dropUpper(view)
      await emptyView(view)
    } else if (recycle(view)) {
      // Emptied while the next test runs, for the view after it.
    } else if (isMainThread) {
      // The view is unmounted: nothing the test could see is left, and the
      // dir goes while the next test runs; the exit handler finishes it.
      await retireView(view)
    } else {
      // A worker thread may be stopped without its 'exit' handlers running.
      await removeView(view)
    }
    this.timings.teardown = performance.now() - started
    log('disposed %s in %d ms', view.merged, this.timings.teardown)
    this.#view = undefined
    this.#busy = DONE
  }

  // Keeping is for debugging: if it fails, the view is still unmounted and
  // the failure is a warning, never the test's result.
  async #keep(view: View): Promise<string | undefined> {
    try {
      const kept = await keepChanges(view, await this.#backend.changes(view))
      await updateRecord(view.dir, { kept })
      return kept
    } catch (error) {
      process.emitWarning(
        `scratchfs could not keep view ${show(this.path)} (${this.label}): ${(error as Error).message}`,
        { code: 'SCRATCHFS_KEEP', detail: 'The view was removed like a passed one.' },
      )
      return undefined
    }
  }

  async #takeDown(view: View): Promise<UnmountResult> {
    const result = await this.#backend.destroy(view)
    if (result.detached) {
      process.emitWarning(
        `scratchfs view ${show(this.path)} (${this.label}) was still in use after its test and was detached: ${describeHolders(result.detached) || 'holders unknown'}. Its directory is left for 'scratchfs clean'.`,
        {
          code: 'SCRATCHFS_BUSY',
          detail: 'Stop child processes and close files inside the view before the test ends.',
        },
      )
    }
    return result
  }

  #live(): View {
    if (this.#view === undefined) throw this.#disposedError()
    return this.#view
  }

  #disposedError(): ScratchfsError {
    return new ScratchfsError(
      'EDISPOSED',
      `scratch view ${show(this.path)} (${this.label}) is disposed`,
      {
        fix: 'use the view only inside its test, before dispose()',
      },
    )
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.#disposed) return Promise.reject(this.#disposedError())
    const next = this.#busy.catch(() => {}).then(work)
    this.#busy = next
    return next
  }
}

/** Empties upper, work and merged for a fresh start of the same view. */
async function emptyView(view: View): Promise<void> {
  await Promise.all([view.upper, view.work, view.merged].map((dir) => removeTree(dir)))
  await Promise.all(
    Array.from({ length: view.layers.length }, (_, index) =>
      rm(join(view.dir, `l${index}`), { force: true }),
    ),
  )
}
