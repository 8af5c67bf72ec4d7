import type { Stats } from 'node:fs'
import { constants } from 'node:fs'
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { View } from './backends/types.js'
import type { Change } from './changes.js'
import { errnoOf } from './errors.js'

/** Where a kept view's files go, and the listings beside it. */
export const KEPT = 'kept'
export const CHANGES_LIST = 'changes.txt'
export const NOT_KEPT_LIST = 'not-kept.txt'

/**
 * Copies what a view added or modified into `<view dir>/kept`, at the same
 * relative paths, before the view is unmounted, and lists every change in
 * changes.txt. What cannot be copied (a FIFO, a socket, a device, a file
 * that vanished) is listed in not-kept.txt instead of failing the rest: a
 * failed test's files are the point.
 */
export async function keepChanges(view: View, changes: readonly Change[]): Promise<string> {
  const kept = join(view.dir, KEPT)
  await mkdir(kept)
  const notKept: string[] = []
  for (const change of changes) {
    if (change.kind === 'deleted') continue
    const why = await keepOne(join(view.merged, change.path), join(kept, change.path))
    if (why) notKept.push(`${change.path}: ${why}\n`)
  }

  const listing = changes.map((change) => `${change.kind} ${change.path}\n`).join('')
  await writeFile(join(view.dir, CHANGES_LIST), listing)
  if (notKept.length > 0) await writeFile(join(view.dir, NOT_KEPT_LIST), notKept.join(''))
  return kept
}

/** Copies one entry; returns why it could not, or nothing. */
async function keepOne(source: string, target: string): Promise<string | undefined> {
  try {
    const stats = await lstat(source)
    await mkdir(dirname(target), { recursive: true })
    if (stats.isDirectory()) {
      await mkdir(target, { recursive: true })
    } else if (stats.isSymbolicLink()) {
      await symlink(await readlink(source, 'buffer'), target)
      return undefined
    } else if (stats.isFile()) {
      await copyFile(source, target, constants.COPYFILE_FICLONE)
    } else {
      return `a ${kindOf(stats)} cannot be copied`
    }
    await chmod(target, stats.mode & 0o7777)
    await utimes(target, stats.atime, stats.mtime)
    return undefined
  } catch (error) {
    return `${errnoOf(error) ?? 'error'}: ${(error as Error).message}`
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'FIFO'
  if (stats.isSocket()) return 'socket'
  if (stats.isCharacterDevice()) return 'character device'
  if (stats.isBlockDevice()) return 'block device'
  return 'special file'
}
