import { readdirSync, rmdirSync, unlinkSync } from 'node:fs'
import { chmod, lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { errnoOf } from './errors.js'

/** How many entries a blocking delete takes on before it leaves the rest to fs.rm. */
export const SYNC_REMOVE_BUDGET = 64

export interface RemoveOptions {
  /**
   * An entry directly in `dir` deleted only after everything else: a view
   * dir's record, so that a delete cut short (the process exited, its
   * thread was stopped) leaves a dir that still says whose it was.
   */
  last?: string
}

/**
 * Deletes a view dir. Most views hold a dozen entries: deleting those in
 * place, blocking, costs a third of fs.rm's walk through the thread pool.
 * A bigger tree (a test that installed packages) goes on without blocking.
 */
export async function removeTree(dir: string, options: RemoveOptions = {}): Promise<void> {
  if (removeSmallSync(dir, SYNC_REMOVE_BUDGET, options.last)) return
  await removeBig(dir, options.last)
}

/** The same, all of it on libuv's threads: for a delete nothing waits for. */
export function removeLater(dir: string, options: RemoveOptions = {}): Promise<void> {
  return removeBig(dir, options.last)
}

/**
 * Deletes a small tree without leaving the thread: true when it is gone,
 * false when it was bigger than the budget or something resisted (then what
 * is left is for the caller). Symlinks are unlinked, never followed.
 */
export function removeSmallSync(dir: string, budget = SYNC_REMOVE_BUDGET, last?: string): boolean {
  const left = { entries: budget }
  try {
    removeWithin(dir, left, last)
    return true
  } catch (error) {
    return errnoOf(error) === 'ENOENT' && left.entries === budget
  }
}

function removeWithin(dir: string, left: { entries: number }, last?: string): void {
  const entries = readdirSync(dir, { withFileTypes: true })
  // Sorted stably: the entry to go last goes last, the rest keep their order.
  entries.sort((a, b) => Number(a.name === last) - Number(b.name === last))
  for (const entry of entries) {
    if (--left.entries < 0) throw Object.assign(new Error('over budget'), { code: 'EBUDGET' })
    const path = join(dir, entry.name)
    if (entry.isDirectory()) removeWithin(path, left)
    else unlinkSync(path)
  }
  rmdirSync(dir)
}

// The kernel leaves `work/work` mode 000 and a test may leave unreadable
// dirs; a non-root owner cannot delete what they hold until they are made
// accessible again, so on EACCES the dirs are unlocked and the delete is
// tried once more.
async function removeBig(dir: string, last: string | undefined): Promise<void> {
  try {
    await removeAll(dir, last)
    return
  } catch (error) {
    if (errnoOf(error) !== 'EACCES' && errnoOf(error) !== 'EPERM') throw error
  }
  await unlockDirs(dir)
  await removeAll(dir, last)
}

async function removeAll(dir: string, last: string | undefined): Promise<void> {
  if (last !== undefined) {
    const names = await readdir(dir).catch((error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return [] as string[]
      throw error
    })
    for (const name of names) {
      if (name !== last) await rm(join(dir, name), { recursive: true, force: true })
    }
  }
  await rm(dir, { recursive: true, force: true })
}

// A symlink planted where a dir was expected is never chmodded through
// (lstat, not stat), so nothing outside the view gains permissions. Opening
// the dir to fchmod it is not possible: its owner may not open a 000 dir.
async function unlockDirs(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined)
  if (!info?.isDirectory()) return
  if ((info.mode & 0o700) !== 0o700) await chmod(dir, (info.mode & 0o7777) | 0o700).catch(() => {})
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (entry.isDirectory()) await unlockDirs(join(dir, entry.name))
  }
}
