import { renameSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import type { Backend, View } from './backends/types.js'
import { debug } from './debug.js'
import { trackView, untrackView } from './exit.js'
import { usesSyscalls } from './mount/syscall.js'
import { unmountMountPoint } from './mount/unmount.js'
import type { Owner } from './proc.js'
import { removeTree } from './remove.js'
import { removeView } from './retire.js'
import { makeViewDirSync, PREFIX, READY, RECORD, safeName } from './root.js'
import { placeUpper } from './upper.js'

const log = debug('pool')

/** What a ready view must match to be handed to a test. */
export interface PoolSetup {
  root: string
  home?: string
  layers: readonly string[]
  backend: Backend
  /** The run a view counts for: recorded when the view is made, not when taken. */
  run: Owner
}

interface Ready {
  /** Set when preparing starts: the setup, and the golden layers' inodes then. */
  key?: string
  /** Set while the view is only scheduled: cancel it instead of waiting. */
  timer?: NodeJS.Timeout
  /** The ready view, or undefined when preparing it failed. */
  view?: Promise<View | undefined>
}

// One ready view per process: a test takes it and the next one is made
// while that test runs. More would only cost mounts nobody waits for.
let ready: Ready | undefined

// The setup asked for last, so a view is prepared only for a golden that is
// asked for again: a one-off would waste a mount.
let lastKey: string | undefined

/**
 * Whether views are pooled: for overlay views mounted by direct syscalls,
 * in a process's main thread (a worker thread can be stopped without its
 * 'exit' handlers, which take a ready view down). SCRATCHFS_POOL=0 turns
 * it off. Past its dir and record (two small calls, made in place so an
 * exit always finds the view), the next view is made with non-blocking
 * calls only, so the test that runs meanwhile loses no time to it.
 */
export function pooling(setup: PoolSetup): boolean {
  return (
    setup.backend.name === 'overlay' &&
    process.env.SCRATCHFS_POOL !== '0' &&
    isMainThread &&
    usesSyscalls()
  )
}

// The layers' inodes too: a golden replaced at the same path (rebuilt in a
// beforeAll) is a new golden, and a view of the old one is of no use.
function keyOf(setup: PoolSetup): string {
  const inodes = setup.layers.map((layer) => {
    try {
      const info = statSync(layer, { bigint: true })
      return `${info.dev}:${info.ino}`
    } catch {
      return 'missing'
    }
  })
  return JSON.stringify([setup.root, setup.home, setup.layers, setup.run, inodes])
}

/**
 * A view mounted ahead of time for this setup, renamed to the test's label:
 * one rename instead of a mount (its record already names the run, and the
 * mount follows its directory). Undefined when none is ready.
 */
export async function takeReady(setup: PoolSetup, label: string): Promise<View | undefined> {
  if (!pooling(setup)) return undefined
  const key = keyOf(setup)
  const current = ready
  ready = undefined
  // Not started yet: making it now costs the same as making the view itself.
  if (current?.timer) clearTimeout(current.timer)
  const view = await current?.view
  if (!view) return undefined
  if (current?.key !== key) {
    // Another golden, root or run, or the golden was replaced: of no use now.
    await discard(view)
    return undefined
  }
  try {
    return handOver(view, label)
  } catch (error) {
    log('handing over %s failed: %s', view.dir, error)
    await discard(view)
    return undefined
  }
}

/**
 * Prepares the next view for this setup while the current test runs, when
 * the setup was asked for twice in a row. It starts on an unref'd timer: a
 * process that has nothing else to do exits instead of preparing, and a
 * view prepared but never taken is taken down by the exit handler.
 */
export function prepareNext(setup: PoolSetup, handed: boolean): void {
  if (!pooling(setup)) return
  const key = keyOf(setup)
  const repeated = lastKey === key
  lastKey = key
  if (!(repeated || handed) || ready) return

  const next: Ready = {}
  next.timer = setTimeout(() => {
    next.timer = undefined
    next.key = keyOf(setup)
    next.view = prepare(setup)
  }, 0).unref()
  ready = next
}

function handOver(from: View, label: string): View {
  // The same random tail as the ready view: unique in the root already.
  const dir = join(dirname(from.dir), `${PREFIX}${safeName(label)}-${basename(from.dir).slice(-6)}`)
  renameSync(from.dir, dir)
  log('handed %s over as %s', from.dir, dir)
  trackView(dir)
  untrackView(from.dir)
  const moved = (path: string) => (dirname(path) === from.dir ? join(dir, basename(path)) : path)
  const view = {
    ...from,
    dir,
    merged: join(dir, 'merged'),
    upper: moved(from.upper),
    work: moved(from.work),
  }
  return view
}

async function prepare(setup: PoolSetup): Promise<View | undefined> {
  let dir: string | undefined
  let view: View | undefined
  try {
    // Recorded as the run's from the start: a ready view that outlives the
    // run (its process was killed) is one the run left, like any other.
    // The dir and its record are made in place, and tracked before anything
    // else can run: an exit while the rest is on its way still finds it.
    dir = makeViewDirSync(setup.root, READY, {
      run: setup.run,
      backend: 'overlay',
      label: 'ready',
    })
    // An exit or a signal before a test takes it unmounts and deletes it.
    trackView(dir)
    const placed = await placeUpper(dir, setup.home)
    view = { dir, merged: join(dir, 'merged'), ...placed, layers: setup.layers }
    await setup.backend.create(view, undefined, true)
    return view
  } catch (error) {
    log('preparing a view failed, making views in place: %s', error)
    if (view) await discard(view)
    else if (dir) {
      await removeTree(dir, { last: RECORD }).catch(() => {})
      untrackView(dir)
    }
    return undefined
  }
}

async function discard(view: View): Promise<void> {
  const result = await unmountMountPoint(view.merged).catch(() => undefined)
  if (result && !result.detached) await removeView(view).catch(() => {})
  untrackView(view.dir)
}

/** Takes down the view made ahead of time, if any: nothing will take it now. */
export async function dropReady(): Promise<void> {
  const current = ready
  ready = undefined
  lastKey = undefined
  if (current?.timer) clearTimeout(current.timer)
  const view = await current?.view
  if (view) await discard(view)
}
