import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from './debug.js'
import { describeHolders } from './mount/holders.js'
import { mountsUnder } from './mount/mountinfo.js'
import { unmountAll } from './mount/unmount.js'
import { isAlive } from './proc.js'
import { removeTree } from './remove.js'
import { PREFIX, RECORD, readRecord, type ViewRecord, writeRecord } from './root.js'

const log = debug('sweep')

/**
 * A view dir without a record is one whose creation was cut short between
 * mkdtemp and writing the record, or a probe's. Past this age nobody is
 * still making it.
 */
export const HALF_MADE_GRACE_MS = 30_000

/** A dead owner's view that is still busy (a leftover server) gets this long. */
export const SWEEP_PATIENCE_MS = 500

export interface SweepOptions {
  /** Also remove kept views whose run is over. @default true */
  kept?: boolean
  /** List what would go, remove nothing. */
  dryRun?: boolean
  /** Age after which a dir without a record counts as abandoned. @default HALF_MADE_GRACE_MS */
  graceMs?: number
  /**
   * Remove only the kept views kept before this time (ms since the epoch):
   * a sweep in the middle of a run leaves those of runs that ended while it
   * ran, which are the next run's to remove.
   */
  keptBefore?: number
}

export interface Swept {
  dir: string
  why: string
  /** Set when a live process still held it: it was detached and left for a later sweep. */
  heldBy?: string
}

/**
 * Removes what dead processes left under a root: views whose owner is gone,
 * detached views nobody holds any more, kept views whose run is over, and
 * half-made dirs. It only ever unmounts and deletes, never mounts, and only
 * touches this user's `scratchfs-` dirs; symlinks are never followed.
 */
export async function sweep(root: string, options: SweepOptions = {}): Promise<Swept[]> {
  const swept: Swept[] = []
  const dirs = await Promise.all(
    (await ownDirs(root)).map(async (dir) => ({ dir, record: await readRecord(dir) })),
  )
  // A tmpfs that holds uppers stays busy until the views on it are gone.
  dirs.sort((a, b) => Number(a.record?.backend === 'tmpfs') - Number(b.record?.backend === 'tmpfs'))

  for (const { dir, record } of dirs) {
    if (!record) {
      // A container of views (a tmpfs scratchfs mounted, say) goes only once
      // every view inside it has gone.
      const inner = await sweep(dir, options)
      swept.push(...inner)
      const left = (await ownDirs(dir)).length - (options.dryRun ? inner.length : 0)
      if (left > 0) continue
    }
    const why = await reasonToSweep(dir, record, options)
    if (!why) continue

    const entry: Swept = { dir, why }
    swept.push(entry)
    if (options.dryRun) continue
    log('sweeping %s: %s', dir, why)
    await sweepOne(dir, record, entry)
  }
  return swept
}

/** The `scratchfs-` dirs directly in `dir` that are real dirs of this user. */
async function ownDirs(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const uid = process.getuid?.()
  const dirs: string[] = []
  for (const name of names.filter((entry) => entry.startsWith(PREFIX))) {
    const path = join(dir, name)
    const info = await lstat(path).catch(() => undefined)
    if (info?.isDirectory() && (uid === undefined || info.uid === uid)) dirs.push(path)
  }
  return dirs
}

async function reasonToSweep(
  dir: string,
  record: ViewRecord | undefined,
  options: SweepOptions,
): Promise<string | undefined> {
  if (!record) {
    const info = await lstat(dir)
    const grace = options.graceMs ?? HALF_MADE_GRACE_MS
    return Date.now() - info.mtimeMs >= grace ? 'half-made: no owner record' : undefined
  }
  if (record.detached) {
    const holders = record.holders ?? []
    if (holders.some(isAlive)) return undefined
    if (holders.length === 0 && isAlive(record.owner)) return undefined
    return 'detached earlier; no process holds it any more'
  }
  if (record.kept) {
    if (!(options.kept ?? true) || isAlive(record.run)) return undefined
    if (options.keptBefore !== undefined) {
      const kept = await lstat(join(dir, RECORD)).catch(() => undefined)
      if (!kept || kept.mtimeMs >= options.keptBefore) return undefined
    }
    return `kept view of a finished run (pid ${record.run.pid})`
  }
  if (isAlive(record.owner)) return undefined
  return `owner pid ${record.owner.pid} is gone`
}

// Deepest mount first; a view still held by a live process (a server its
// test left running) is detached rather than deleted under a writer, and
// the record says so for the next sweep.
async function sweepOne(dir: string, record: ViewRecord | undefined, entry: Swept): Promise<void> {
  if ((await mountsUnder(dir)).length > 0) {
    const result = await unmountAll(dir, { patienceMs: SWEEP_PATIENCE_MS })
    if (result.detached && result.detached.length > 0) {
      entry.heldBy = describeHolders(result.detached)
      if (record) {
        const holders = result.detached.map(({ pid, start }) => ({ pid, start }))
        await writeRecord(dir, { ...record, detached: true, holders })
      }
      return
    }
  }
  await removeTree(dir, { last: RECORD })
}
