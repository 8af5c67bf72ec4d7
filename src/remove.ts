import { chmod, lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { errnoOf } from './errors.js'

/**
 * Deletes a view dir. The kernel leaves `work/work` mode 000 and a test may
 * leave unreadable dirs; a non-root owner cannot delete what they hold until
 * they are made accessible again, so on EACCES the dirs are opened without
 * following symlinks and unlocked, then the delete is tried once more.
 */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true })
    return
  } catch (error) {
    if (errnoOf(error) !== 'EACCES' && errnoOf(error) !== 'EPERM') throw error
  }
  await unlockDirs(dir)
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
