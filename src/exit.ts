import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { debug } from './debug.js'
import { unmountAllSync } from './mount/unmount.js'
import { PREFIX, RECORD, type ViewRecord } from './root.js'

const log = debug('exit')

/** Signals that end a run from outside: Ctrl-C, a runner's kill, a closed terminal. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** View dirs of this thread that may hold mounts. */
const live = new Set<string>()

/**
 * Remembers a view dir until it is taken down, so that a signal or an exit
 * in between unmounts it. The handlers exist only while views are live: a
 * process without views keeps Node's default signal behaviour.
 */
export function trackView(dir: string): void {
  live.add(dir)
  if (live.size === 1) install()
}

export function untrackView(dir: string): void {
  live.delete(dir)
  if (live.size === 0) uninstall()
}

/** How many views of this thread are live (made and not yet taken down). */
export function liveViews(): number {
  return live.size
}

function install(): void {
  process.on('exit', takeDownAll)
  // Signals reach the main thread only.
  if (isMainThread) for (const signal of SIGNALS) process.on(signal, onSignal)
}

function uninstall(): void {
  process.off('exit', takeDownAll)
  for (const signal of SIGNALS) process.off(signal, onSignal)
}

// Unmount what is mounted, then let the signal do what it would have done:
// with no other listener, Node's default (the process dies of it, exit code
// 128+n); with others (a test runner's own handler), theirs.
function onSignal(signal: NodeJS.Signals): void {
  log('%s with %d live views', signal, live.size)
  takeDownAll()
  uninstall()
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

// Synchronous: nothing asynchronous runs in 'exit' or once a signal must
// end the process. A view that came off cleanly is deleted; one still busy
// was detached and its dir stays for the sweeper (its owner is gone now).
function takeDownAll(): void {
  for (const dir of live) {
    const clean = unmountAllSync(dir)
    try {
      if (clean) rmSync(dir, { recursive: true, force: true })
    } catch {
      // A dir that resists (a mode-000 leftover) is the sweeper's: its owner is gone now.
    }
    log('took down %s at exit (%s)', dir, clean ? 'deleted' : 'detached, left for the sweeper')
  }
  live.clear()
}

const watchedRoots = new Set<string>()

/**
 * For the process that runs a whole test run (the config plugin): when it
 * exits, also take down the views its worker threads left under `root`.
 * A thread's own handlers may never run: signals reach the main thread
 * only, and a process.exit() there ends the threads without their 'exit'.
 * Their views carry this process's pid, so they are found by record.
 */
export function takeDownThreadViewsAtExit(root: string): void {
  if (watchedRoots.has(root)) return
  watchedRoots.add(root)
  process.on('exit', () => takeDownOwned(root))
}

function takeDownOwned(root: string): void {
  let names: string[] = []
  try {
    names = readdirSync(root).filter((name) => name.startsWith(PREFIX))
  } catch {
    return
  }
  for (const name of names) {
    const dir = join(root, name)
    let record: ViewRecord
    try {
      record = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as ViewRecord
    } catch {
      continue
    }
    if (record.owner.pid !== process.pid || record.kept || record.detached) continue
    const clean = unmountAllSync(dir)
    try {
      if (clean) rmSync(dir, { recursive: true, force: true })
    } catch {}
    log('took down thread view %s at exit (%s)', dir, clean ? 'deleted' : 'detached')
  }
}
