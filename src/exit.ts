import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { debug } from './debug.js'
import { errnoOf } from './errors.js'
import { unmountAllSync } from './mount/unmount.js'
import { GONE, PREFIX, RECORD, readRecordSync } from './root.js'

const log = debug('exit')

/** Signals that end a run from outside: Ctrl-C, a runner's kill, a closed terminal. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** View dirs of this thread that may hold mounts. */
const live = new Set<string>()

/** How long the exit path waits for killed writers to let go of a view. */
const WRITER_PATIENCE_MS = 1000

let installed = false

/**
 * Remembers a view dir until it is taken down, so that a signal or an exit
 * in between unmounts it. The handlers are installed with the first view
 * and stay: removing them when the last view goes would drop a signal that
 * arrived meanwhile and waits to be dispatched. Without live views a signal
 * does what it would have done anyway (see onSignal).
 */
export function trackView(dir: string): void {
  live.add(dir)
  if (!installed) install()
}

export function untrackView(dir: string): void {
  live.delete(dir)
}

/** How many views of this thread are live (made and not yet taken down). */
export function liveViews(): number {
  return live.size
}

function install(): void {
  installed = true
  process.on('exit', takeDownAll)
  // Signals reach the main thread only.
  if (isMainThread) for (const signal of SIGNALS) process.on(signal, onSignal)
}

function uninstall(): void {
  installed = false
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
// was detached, and one that resists deleting stays: both are the
// sweeper's, since their owner (this process) is gone from now on.
function takeDownAll(): void {
  if (live.size === 0) return
  const children = ownChildren()
  // Mounted views first, deletions left for later last: a runner may kill
  // the process soon after its signal (Vitest: 500 ms), and a mount that
  // outlives it is worse than a directory.
  const order = [...live].sort((a, b) => Number(isGone(a)) - Number(isGone(b)))
  for (const dir of order) log('took down %s at exit: %s', dir, takeDownSync(dir, children))
  live.clear()
}

function isGone(dir: string): boolean {
  return basename(dir).startsWith(GONE)
}

/** Unmounts and deletes one view dir, and says what became of it. */
function takeDownSync(dir: string, children: readonly Child[]): string {
  // A view still being copied: deleting it while cp fills it fails, or
  // deletes half of it.
  killWritersSync(dir, children)
  // An empty merged dir is no mount point: deleting it first means a mount
  // still under way on one of libuv's threads (a view made ahead of time)
  // cannot land there after mountinfo was read.
  try {
    rmdirSync(join(dir, 'merged'))
  } catch {}
  if (!unmountAllSync(dir)) return 'still in use, detached and left for the sweeper'
  try {
    removeViewDirSync(dir)
    return 'deleted'
  } catch (error) {
    return `not deleted (${errnoOf(error) ?? String(error)}), left for the sweeper`
  }
}

// The record goes last: a dir that could only be half deleted still says
// whose it was, so the sweeper removes it at once instead of after the
// grace it gives a half-made dir.
function removeViewDirSync(dir: string): void {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return
    throw error
  }
  for (const name of names) {
    if (name !== RECORD) rmSync(join(dir, name), { recursive: true, force: true })
  }
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Kills this process's own children that name the view dir in their
 * arguments (a copy's cp: a worker thread's too, since threads share the
 * pid) and waits, blocking, until each has exited: a zombie holds nothing
 * open, so the last write into the view has landed.
 */
function killWritersSync(dir: string, children: readonly Child[]): void {
  const inside = `${dir}/`
  const writers = children
    .filter((child) => child.args.some((arg) => arg === dir || arg.startsWith(inside)))
    .map((child) => child.pid)
  for (const pid of writers) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  const deadline = Date.now() + WRITER_PATIENCE_MS
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (const pid of writers) {
    while (stateOf(pid)?.running && Date.now() < deadline) Atomics.wait(pause, 0, 0, 2)
  }
}

interface Child {
  pid: number
  args: string[]
}

/** This process's running children with their arguments; none where there is no /proc. */
function ownChildren(): Child[] {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const children: Child[] = []
  for (const pid of pids.map(Number)) {
    const state = stateOf(pid)
    if (!state?.running || state.ppid !== process.pid) continue
    try {
      children.push({ pid, args: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') })
    } catch {}
  }
  return children
}

/** From /proc/<pid>/stat: whether it still runs (not a zombie) and its parent. */
function stateOf(pid: number): { running: boolean; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { running: !/^[ZX]/.test(fields[0] ?? ''), ppid: Number(fields[1]) }
  } catch {
    return undefined
  }
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
  let children: Child[] | undefined
  for (const name of names) {
    const dir = join(root, name)
    const record = readRecordSync(dir)
    if (!record) continue
    if (record.owner.pid !== process.pid || record.kept || record.detached) continue
    children ??= ownChildren()
    log('took down thread view %s at exit: %s', dir, takeDownSync(dir, children))
  }
}
