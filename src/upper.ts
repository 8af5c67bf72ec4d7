import { chmod, mkdir, rm, statfs, symlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { View } from './backends/types.js'
import { show } from './errors.js'
import { tmpfsFix, tmpfsFor } from './mount/tmpfs.js'
import type { ScratchOptions } from './options.js'
import { removeSmallSync } from './remove.js'

/** Filesystems the kernel refuses as an overlay upper, by statfs magic. */
const UNFIT: Record<number, string> = {
  2035054128: 'overlayfs',
  26985: 'NFS',
  1702057286: 'FUSE',
  4283649346: 'CIFS',
  4266872130: 'SMB2',
  16914839: '9p',
}

/** Where the uppers of views under one root go. */
export interface UpperPlan {
  /** A dir on a tmpfs holding every view's upper and work; undefined: each view dir holds its own. */
  home?: string
  /** Why the uppers cannot stay in the view dirs and no tmpfs could be had. */
  unfit?: { reason: string; fix: string }
}

/**
 * Decides where uppers live. A container's /tmp is often an overlay, which
 * cannot hold an upper at all, and copy-up on tmpfs costs a tenth of ext4:
 * so uppers go to a tmpfs when the root cannot hold them or when asked.
 */
export async function planUppers(
  root: string,
  options: Pick<ScratchOptions, 'upper' | 'tmpfsSize'>,
): Promise<UpperPlan> {
  const upper = options.upper ?? 'auto'
  if (upper === 'disk') return {}
  if (upper === 'tmpfs') return { home: await tmpfsFor(root, options.tmpfsSize) }

  const unfit = await unfitForUpper(root)
  if (!unfit) return {}
  try {
    return { home: await tmpfsFor(root, options.tmpfsSize) }
  } catch (error) {
    const why = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)
    return { unfit: { reason: `${unfit.reason}, and ${why}`, fix: unfit.fix } }
  }
}

/** Why a root's filesystem cannot hold an overlay upper, or undefined when it can. */
export async function unfitForUpper(
  root: string,
): Promise<{ reason: string; fix: string } | undefined> {
  const fs = await statfs(root).catch(() => undefined)
  const kind = fs && UNFIT[fs.type]
  if (!kind) return undefined
  return {
    reason: `scratch root ${show(root)} is on ${kind}, which cannot hold an overlay upper dir`,
    fix: await tmpfsFix(),
  }
}

/**
 * The upper and work dirs of a new view. On a tmpfs they get a dir named
 * after the view, and the view dir links to them as `upper` and `work`, so
 * mounts name them relative to the view dir as always.
 */
export async function placeUpper(
  dir: string,
  home: string | undefined,
): Promise<Pick<View, 'upper' | 'work'>> {
  if (home === undefined) return { upper: join(dir, 'upper'), work: join(dir, 'work') }

  const side = join(home, basename(dir))
  await mkdir(side, { mode: 0o700 })
  const placed = { upper: join(side, 'upper'), work: join(side, 'work') }
  await symlink(placed.upper, join(dir, 'upper'))
  await symlink(placed.work, join(dir, 'work'))
  return placed
}

/** Deletes a view's upper and work when they live outside its dir. */
export async function dropUpper(view: Pick<View, 'dir' | 'upper' | 'work'>): Promise<void> {
  const side = dirname(view.upper)
  if (side === view.dir) return
  // Most are a dozen entries on a tmpfs: gone in place at once.
  if (removeSmallSync(side)) return
  // The kernel leaves work/work mode 000; unlock it to delete what it holds.
  await chmod(join(view.work, 'work'), 0o700).catch(() => {})
  await rm(side, { recursive: true, force: true })
}
