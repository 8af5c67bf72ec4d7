import { readdirSync, readlinkSync, renameSync, statSync } from 'node:fs'
import { rmdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import type { Backend, View } from './backends/types.js'
import { debug } from './debug.js'
import { trackView, untrackView } from './exit.js'
import { usesSyscalls } from './mount/syscall.js'
import { unmountMountPoint } from './mount/unmount.js'
import type { Owner } from './proc.js'
import { removeLater, removeTree } from './remove.js'
import { removeView } from './retire.js'
import { GONE, makeViewDirSync, PREFIX, READY, RECORD, safeName } from './root.js'
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

// Views handed to tests, by the setup they were made for: theirs can be recycled.
const handedKeys = new WeakMap<View, string>()

interface Spare {
  key: string
  /** The emptied view dir, or undefined when emptying it failed. */
  dir: Promise<string | undefined>
}

// The dir of a view a test disposed of, emptied for the next view of the
// same setup: its record, layer links, work and merged dirs stay.
let spare: Spare | undefined

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
    const handed = handOver(view, label)
    handedKeys.set(handed, key)
    return handed
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
    next.view = prepare(setup, next.key)
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

async function prepare(setup: PoolSetup, key: string): Promise<View | undefined> {
  const recycled = await takeSpare(key)
  if (recycled) {
    const view: View = { ...recycled, layers: setup.layers }
    try {
      await setup.backend.create(view, undefined, true, true)
      return view
    } catch (error) {
      log('preparing a recycled view failed: %s', error)
      await discard(view)
      // Made in full below, as if there had been nothing to recycle.
    }
  }
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

/**
 * Keeps the dir of a view a test has disposed of, unmounted, for the next
 * view of the same setup: its upper and the kernel's work dir are deleted on
 * libuv's threads, its record, layer links, work and merged dirs stay. Half
 * the inodes a view makes and deletes are then never made again; on ext4
 * without a journal, each one made near those freed in the last 30 seconds
 * is slow to find. False when the view is not one to recycle (not pooled, its
 * upper elsewhere, one kept already): it is the caller's to delete.
 */
export function recycle(view: View): boolean {
  const key = handedKeys.get(view)
  if (key === undefined || spare || key !== lastKey || dirname(view.upper) !== view.dir) {
    return false
  }
  if (!asMade(view)) {
    log('%s holds more than a view makes, or a layer link was changed: not reused', view.dir)
    return false
  }
  // Named like a view being deleted until it is a view again: an exit, a
  // signal or a sweep in between deletes it as one.
  const gone = join(dirname(view.dir), `${GONE}${basename(view.dir).slice(PREFIX.length)}`)
  try {
    renameSync(view.dir, gone)
  } catch (error) {
    log('could not rename %s: %s', view.dir, error)
    return false
  }
  trackView(gone)
  untrackView(view.dir)
  const dir = Promise.all([removeLater(join(gone, 'upper')), emptyWork(join(gone, 'work'))]).then(
    () => gone,
    async (error: unknown) => {
      log('emptying %s failed, deleting it: %s', gone, error)
      await removeLater(gone, { last: RECORD }).catch(() => {})
      untrackView(gone)
      return undefined
    },
  )
  spare = { key, dir }
  return true
}

/**
 * True when a disposed view's dir holds only what making it left: its
 * record, the layer links (still pointing at its layers), upper, work with
 * the kernel's work dir, and an empty mount point. A test may write beside
 * its view (`git worktree add ../wt`) or retarget a link; such a dir is
 * deleted like any other, so no later test sees it.
 */
function asMade(view: View): boolean {
  try {
    const links = view.layers.map((_, index) => `l${index}`)
    const expected = [RECORD, 'merged', 'upper', 'work', ...links].sort()
    const names = readdirSync(view.dir).sort()
    if (names.length !== expected.length || names.some((name, at) => name !== expected[at])) {
      return false
    }
    if (readdirSync(view.merged).length > 0) return false
    const work = readdirSync(view.work)
    if (work.length > 1 || (work.length === 1 && work[0] !== 'work')) return false
    return links.every((link, index) => readlinkSync(join(view.dir, link)) === view.layers[index])
  } catch {
    return false
  }
}

// A volatile mount leaves work/work/incompat/volatile: three rmdirs in a
// row instead of fs.rm's walk, unless it left something else (an older
// kernel, an unreadable work/work for a user other than root).
async function emptyWork(work: string): Promise<void> {
  const top = join(work, 'work')
  try {
    await rmdir(join(top, 'incompat', 'volatile'))
    await rmdir(join(top, 'incompat'))
    await rmdir(top)
  } catch {
    await removeLater(top)
  }
}

/** The emptied view dir, renamed as a ready one, if there is one for this setup. */
async function takeSpare(key: string): Promise<Omit<View, 'layers'> | undefined> {
  const current = spare
  spare = undefined
  const gone = await current?.dir
  if (gone === undefined) return undefined
  if (current?.key !== key) {
    await dropDir(gone)
    return undefined
  }
  const dir = join(dirname(gone), `${READY}${basename(gone).slice(-6)}`)
  try {
    renameSync(gone, dir)
  } catch (error) {
    log('could not rename %s: %s', gone, error)
    await dropDir(gone)
    return undefined
  }
  trackView(dir)
  untrackView(gone)
  return { dir, merged: join(dir, 'merged'), upper: join(dir, 'upper'), work: join(dir, 'work') }
}

async function dropDir(dir: string): Promise<void> {
  await removeLater(dir, { last: RECORD }).catch(() => {})
  untrackView(dir)
}

/** Takes down the view made ahead of time, if any: nothing will take it now. */
export async function dropReady(): Promise<void> {
  const current = ready
  ready = undefined
  lastKey = undefined
  if (current?.timer) clearTimeout(current.timer)
  const view = await current?.view
  if (view) await discard(view)
  const left = spare
  spare = undefined
  const gone = await left?.dir
  if (gone !== undefined) await dropDir(gone)
}
