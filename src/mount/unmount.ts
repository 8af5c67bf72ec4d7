import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { debug } from '../debug.js'
import { ScratchfsError, show } from '../errors.js'
import { findHolders, type Holder } from './holders.js'
import { type MountEntry, mountsUnder, parseMountinfo } from './mountinfo.js'
import { loadLibc, umountCall, umountSync } from './syscall.js'

const log = debug('unmount')

/** How long a busy mount is retried before it is detached. */
export const UNMOUNT_PATIENCE_MS = 2000

/** The pause between two tries while the mount is busy. */
export const UNMOUNT_RETRY_INTERVAL_MS = 50

export interface UnmountResult {
  /** How many extra tries a busy mount took. */
  retries: number
  /** Set when it stayed busy and was detached lazily: its holders. */
  detached?: Holder[]
}

export interface UnmountOptions {
  /** How long to retry a busy mount before detaching it. @default UNMOUNT_PATIENCE_MS */
  patienceMs?: number
}

/**
 * Unmounts every mount at or below `path`, deepest first. "Not mounted"
 * counts as done. A busy mount is retried for UNMOUNT_PATIENCE_MS, then
 * detached lazily, and the processes that held it are returned.
 */
export async function unmountAll(
  path: string,
  options: UnmountOptions = {},
): Promise<UnmountResult> {
  return unmountEach(() => mountsUnder(path), options)
}

/**
 * Unmounts what a test mounted on or in a FUSE view: every mount at or
 * below `path` but the view's own, the first one made at `path` (the ones
 * stacked on it came later). fusermount takes the view's own down after.
 */
export async function unmountOnFuse(
  path: string,
  options: UnmountOptions = {},
): Promise<UnmountResult> {
  return unmountEach(async () => {
    const entries = await mountsUnder(path)
    const own = Math.min(...entries.filter((entry) => entry.target === path).map((e) => e.id))
    return entries.filter((entry) => entry.id !== own)
  }, options)
}

/** Patience for a mount to be tried once and, if busy, left as it is. */
const ONCE = 'once'

/** Passes over the mounts `list` finds, while a pass takes any off. */
const MOST_PASSES = 8

// A mount stacked on a dir hides the mounts below it: its path leads into
// the stacked one. Each pass takes off what it can reach, deepest first,
// and the next finds what that uncovered. A mount with others below it may
// be busy only because of those (hidden ones were passed over as not
// mounted), so it is tried once and left to the next pass; only a pass
// that takes nothing off waits for busy mounts and detaches them.
async function unmountEach(
  list: () => Promise<MountEntry[]>,
  options: UnmountOptions,
): Promise<UnmountResult> {
  let result: UnmountResult = { retries: 0 }
  const patience = options.patienceMs ?? UNMOUNT_PATIENCE_MS
  let before = Number.POSITIVE_INFINITY
  for (let pass = 0; pass < MOST_PASSES; pass++) {
    const entries = await list()
    if (entries.length === 0) break
    const last = entries.length >= before || pass === MOST_PASSES - 1
    before = entries.length
    for (const entry of entries) {
      const below = entries.some((other) => other.target.startsWith(`${entry.target}/`))
      result = joinResults(result, await unmountOne(entry.target, below && !last ? ONCE : patience))
    }
    if (last) break
  }
  return result
}

/** Two unmounts as one: the most retries either took, and every holder. */
export function joinResults(a: UnmountResult, b: UnmountResult): UnmountResult {
  const detached = [...(a.detached ?? []), ...(b.detached ?? [])]
  return { retries: Math.max(a.retries, b.retries), ...(detached.length > 0 && { detached }) }
}

/**
 * unmountAll for a view's merged dir, which is its only mount point: a
 * mount inside it would keep it busy. So umount2 on it answers without
 * reading mountinfo: done (then once more, in case something was stacked
 * on it) until "not mounted"; only a busy or failing mount takes the full
 * path, which finds nested mounts, retries and detaches. Spawning umount(8)
 * twice would cost more than the read, so without syscalls it is the full path.
 */
export async function unmountMountPoint(
  path: string,
  options: UnmountOptions = {},
): Promise<UnmountResult> {
  if (loadLibc() === null) return unmountAll(path, options)
  for (let tries = 0; tries < 8; tries++) {
    const { exitCode, stderr } = umountSync(path)
    if (exitCode === 0) continue
    if (isGone(stderr)) return { retries: 0 }
    break
  }
  return unmountAll(path, options)
}

async function unmountOne(
  target: string,
  patienceMs: number | typeof ONCE,
): Promise<UnmountResult> {
  const deadline = Date.now() + (patienceMs === ONCE ? 0 : patienceMs)
  for (let retries = 0; ; retries++) {
    const { exitCode, stderr } = await umountCall(target)
    if (exitCode === 0 || isGone(stderr)) return { retries }
    if (!/busy/i.test(stderr)) {
      throw new ScratchfsError('EUNMOUNT', `unmounting ${show(target)} failed: ${stderr.trim()}`, {
        path: target,
        fix: `unmount it by hand (umount ${show(target)}) or run 'scratchfs clean'`,
      })
    }
    if (patienceMs === ONCE) return { retries }
    if (Date.now() >= deadline) return { retries, detached: await detach(target) }
    log('busy %s, retry %d', target, retries + 1)
    await sleep(UNMOUNT_RETRY_INTERVAL_MS)
  }
}

function isGone(stderr: string): boolean {
  return /not mounted|no mount point|not found/i.test(stderr)
}

// Detaching lets the holders keep what they have open while the mount point
// goes away; their writes still land in the upper, so callers leave it be.
async function detach(target: string): Promise<Holder[]> {
  const holders = await findHolders(target)
  await umountCall(target, true)
  log('detached %s, held by %o', target, holders)
  return holders
}

/**
 * The same without waiting, for a process that is about to exit (a signal
 * or the 'exit' event): nothing asynchronous runs there any more. A busy
 * mount is detached at once; returns whether everything came off cleanly.
 */
export function unmountAllSync(path: string): boolean {
  let clean = true
  for (const entry of mountsUnderSync(path)) {
    const plain = umountSync(entry.target)
    if (plain.exitCode === 0 || isGone(plain.stderr)) continue
    umountSync(entry.target, true)
    clean = false
  }
  return clean
}

function mountsUnderSync(path: string): MountEntry[] {
  let text = ''
  try {
    text = readFileSync('/proc/self/mountinfo', 'latin1')
  } catch {
    return []
  }
  const prefix = `${path}/`
  return parseMountinfo(text)
    .filter((entry) => entry.target === path || entry.target.startsWith(prefix))
    .sort((a, b) => b.target.length - a.target.length || b.id - a.id)
}
