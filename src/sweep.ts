import { chmod, lstat, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from './debug.js'
import { unmountAll } from './mount/unmount.js'
import { isAlive } from './proc.js'
import { PREFIX, RECORD, type ViewRecord } from './root.js'

const log = debug('sweep')

export interface SweepOptions {
  /** Also remove kept views whose run is over. @default true */
  kept?: boolean
  /** List what would go, remove nothing. */
  dryRun?: boolean
}

export interface Swept {
  dir: string
  why: string
}

/**
 * Removes what dead processes left under a root: views whose owner is gone,
 * and kept views whose run is over. It only ever unmounts and deletes, never
 * mounts, and only touches this user's `scratchfs-` dirs.
 */
export async function sweep(root: string, options: SweepOptions = {}): Promise<Swept[]> {
  const names = await readdir(root).catch(() => [] as string[])
  const uid = process.getuid?.()
  const swept: Swept[] = []

  for (const name of names.filter((entry) => entry.startsWith(PREFIX))) {
    const dir = join(root, name)
    const info = await lstat(dir).catch(() => undefined)
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue

    const why = await reasonToSweep(dir, options.kept ?? true)
    if (!why) continue
    swept.push({ dir, why })
    if (options.dryRun) continue

    log('sweeping %s: %s', dir, why)
    await unmountAll(dir)
    await chmod(join(dir, 'work', 'work'), 0o700).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  return swept
}

async function reasonToSweep(dir: string, kept: boolean): Promise<string | undefined> {
  let record: ViewRecord
  try {
    record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as ViewRecord
  } catch {
    // A view dir without a record is one whose creation was cut short, or a
    // probe's: old enough, nobody is still making it.
    const info = await lstat(dir)
    return Date.now() - info.mtimeMs > 60_000 ? 'no owner record' : undefined
  }
  if (record.kept) {
    if (!kept || isAlive(record.run)) return undefined
    return `kept view of a finished run (pid ${record.run.pid})`
  }
  if (isAlive(record.owner)) return undefined
  return `owner pid ${record.owner.pid} is gone`
}
