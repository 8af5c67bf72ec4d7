import { mkdir, realpath, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Backend, View } from './backends/types.js'
import { debug } from './debug.js'
import { trackView, untrackView } from './exit.js'
import { moveMount, usesSyscalls } from './mount/syscall.js'
import { unmountAll } from './mount/unmount.js'
import { runOwner } from './proc.js'
import { makeViewDir } from './root.js'
import { dropUpper, placeUpper } from './upper.js'

const log = debug('pool')

interface Ready {
  key: string
  /** The ready view, or undefined when preparing it failed. */
  view: Promise<View | undefined>
}

// One ready view per process: a test takes it and the next one is made
// while that test runs. More would only cost mounts nobody waits for.
let ready: Ready | undefined

// The key asked for last, so a view is prepared only for a golden that is
// asked for again: a one-off would waste a mount.
let lastKey: string | undefined

// Keys whose views could not be handed over (an upper on another
// filesystem than the view dir): they are made in place from then on.
const refused = new Set<string>()

/**
 * Whether views are pooled: with SCRATCHFS_POOL=1, where mounts are direct
 * syscalls (moving a mount into place needs move_mount). Off by default:
 * measured, a hand-over (new view dir, record, renames, move_mount) saves
 * under a millisecond of the wait and the view made ahead competes with the
 * test for the CPU, so a tight run of views costs more in total.
 */
export function poolEnabled(): boolean {
  return process.env.SCRATCHFS_POOL === '1' && usesSyscalls()
}

/**
 * Wraps an overlay backend so that `create` hands over a view mounted
 * ahead of time: its upper and work dirs are renamed into the new view dir
 * and its mount moved onto the new `merged`, which costs a few renames
 * instead of a mount. The next view is prepared right after, while the
 * test runs. Views are made the same way either way, so they are alike.
 */
export function pooled(backend: Backend, root: string, home?: string): Backend {
  if (backend.name !== 'overlay' || !poolEnabled()) return backend
  return {
    ...backend,
    async create(view) {
      const key = JSON.stringify([root, home, view.layers])
      const repeated = lastKey === key
      lastKey = key
      const taken = refused.has(key) ? undefined : await take(key)
      const handed = taken !== undefined && (await handOver(taken, view))
      if (taken && !handed) refused.add(key)
      if (!handed) await backend.create(view)
      if ((repeated || handed) && !refused.has(key))
        refill(key, () => prepare(backend, root, home, view.layers))
    },
  }
}

async function take(key: string): Promise<View | undefined> {
  const current = ready
  ready = undefined
  if (!current) return undefined
  if (current.key === key) return current.view
  // Another golden or root: the ready view is of no use now.
  void current.view.then((view) => view && discard(view))
  return undefined
}

// Moves a ready view's state into `view`; false (and the ready view gone)
// when it cannot, e.g. the upper is on another filesystem than the new dir.
async function handOver(from: View, view: View): Promise<boolean> {
  try {
    await rename(from.upper, view.upper)
    await rename(from.work, view.work)
    await mkdir(view.merged)
    moveMount(from.merged, view.merged)
  } catch (error) {
    log('hand-over from %s failed: %s', from.dir, error)
    await Promise.all(
      [view.upper, view.work, view.merged].map((dir) =>
        rm(dir, { recursive: true, force: true }).catch(() => {}),
      ),
    )
    await discard(from)
    return false
  }
  void Promise.all([dropUpper(from), rm(from.dir, { recursive: true, force: true })])
    .catch(() => {})
    .finally(() => untrackView(from.dir))
  return true
}

function refill(key: string, make: () => Promise<View | undefined>): void {
  ready = { key, view: make() }
}

async function prepare(
  backend: Backend,
  root: string,
  home: string | undefined,
  layers: readonly string[],
): Promise<View | undefined> {
  let dir: string | undefined
  try {
    // A record like any view's: the sweeper leaves it be while this process lives.
    dir = await makeViewDir(root, 'pool', { run: runOwner(), backend: backend.name, label: 'pool' })
    // An exit or a signal before a test takes it unmounts and deletes it.
    trackView(dir)
    const view: View = {
      dir,
      merged: join(dir, 'merged'),
      ...(await placeUpper(dir, home)),
      layers,
    }
    await backend.create(view)
    return view
  } catch (error) {
    log('preparing a view failed, not pooling: %s', error)
    if (dir) await discard({ dir, merged: join(dir, 'merged'), ...(await placed(dir)) })
    return undefined
  }
}

// Where a half-made view's upper went: through the links placeUpper left.
async function placed(dir: string): Promise<Pick<View, 'upper' | 'work'>> {
  const upper = await realpath(join(dir, 'upper')).catch(() => join(dir, 'upper'))
  const work = await realpath(join(dir, 'work')).catch(() => join(dir, 'work'))
  return { upper, work }
}

async function discard(view: Pick<View, 'dir' | 'merged' | 'upper' | 'work'>): Promise<void> {
  await unmountAll(view.merged).catch(() => {})
  await dropUpper(view).catch(() => {})
  await rm(view.dir, { recursive: true, force: true }).catch(() => {})
  untrackView(view.dir)
}
