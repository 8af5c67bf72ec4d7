import { stat, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { debug } from '../debug.js'
import { errnoOf, ScratchfsError, show } from '../errors.js'
import { findHolders } from './holders.js'
import { checkLimits } from './mount.js'
import { isMounted } from './mountinfo.js'
import { UNMOUNT_PATIENCE_MS, UNMOUNT_RETRY_INTERVAL_MS, type UnmountResult } from './unmount.js'

const log = debug('fuse')

export interface FuseMount {
  /** The view dir: holds the alias links, upper/, work/ and merged/. */
  dir: string
  /** Realpaths of the lower layers, top first. */
  layers: readonly string[]
}

/**
 * Mounts fuse-overlayfs on `dir/merged`. Like the kernel overlay it parses
 * a comma- and colon-split option string, so it gets the same treatment:
 * lowers are alias links l0, l1, ... and every path is relative to the view
 * dir it runs in. It returns once the mount is up and leaves a daemon behind.
 */
export async function mountFuseOverlay(mount: FuseMount): Promise<void> {
  checkLimits(mount.layers)
  const refused = colonRefusal([
    { path: mount.dir, name: `view dir ${show(mount.dir)}` },
    ...mount.layers.map((layer) => ({ path: layer, name: `golden layer ${show(layer)}` })),
  ])
  if (refused) throw refused
  await Promise.all(
    mount.layers.map((layer, index) => symlink(layer, join(mount.dir, `l${index}`))),
  )

  const lowers = mount.layers.map((_, index) => `l${index}`).join(':')
  const args = ['-o', `lowerdir=${lowers},upperdir=upper,workdir=work`, 'merged']
  log('fuse-overlayfs %s in %s', args.join(' '), mount.dir)
  const result = await execa('fuse-overlayfs', args, {
    cwd: mount.dir,
    reject: false,
    stdin: 'ignore',
  })
  // It prints a warning on stderr for every mount, even a good one: users
  // never see it, DEBUG=scratchfs:fuse does.
  if (result.stderr) log('fuse-overlayfs said: %s', result.stderr.trim())
  if (result.exitCode === 0) return

  const lines = result.stderr.split('\n').filter((line) => line && !NOISE.test(line))
  const why = lines.join('; ') || result.message || 'no output'
  throw new ScratchfsError(
    'EMOUNT',
    `mounting fuse-overlayfs on ${show(join(mount.dir, 'merged'))} failed: ${why}\ncommand: fuse-overlayfs ${args.join(' ')} (in ${show(mount.dir)})`,
    { path: join(mount.dir, 'merged'), fix: fuseFix(why), cause: result },
  )
}

/** What fuse-overlayfs 1.10 prints on every mount, good or bad. */
const NOISE = /^unknown argument ignored: lazytime$/

/** A path fuse-overlayfs would be given, and how to name it to the user. */
export interface NamedPath {
  path: string
  /** What the user knows it as: `scratch root "/a:b"`, `golden "repo" (...)`. */
  name: string
}

/**
 * fuse-overlayfs turns every dir it is given into an absolute path and then
 * splits that on ':' (1.10 has no escape), so no alias can hide a colon in
 * the view dir's or a golden's real path. The refusal, if one has a colon:
 * callers check the user's own paths first (the root, the golden), so the
 * message names what the user passed rather than a dir scratchfs made.
 */
export function colonRefusal(paths: readonly NamedPath[]): ScratchfsError | undefined {
  const colon = paths.find(({ path }) => path.includes(':'))
  if (colon === undefined) return undefined
  return new ScratchfsError(
    'EMOUNT',
    `fuse-overlayfs cannot take a path with ':' in it: ${colon.name} (it splits the paths it resolves on ':')`,
    {
      path: colon.path,
      fix: "move the golden or scratch root to a path without ':', or use backend: 'overlay' (root or 'scratchfs run') or 'copy'",
    },
  )
}

export function fuseFix(stderr: string): string {
  if (/ENOENT|not found|No such file/i.test(stderr) && !/fuse: device/.test(stderr)) {
    return "install it (apt-get install fuse-overlayfs, dnf install fuse-overlayfs) or pass backend: 'copy'"
  }
  if (/\/dev\/fuse|fuse: device not found/i.test(stderr)) {
    return "make /dev/fuse usable: sudo chmod 0666 /dev/fuse (in Docker: docker run --device /dev/fuse), or pass backend: 'copy'"
  }
  if (/fusermount/i.test(stderr)) {
    return "install fuse3 (apt-get install fuse3) so fusermount3 exists and is setuid root, or pass backend: 'copy'"
  }
  return "run 'scratchfs doctor' to see what this machine allows, or pass backend: 'copy'"
}

/** True when the view's daemon is gone: every access gives ENOTCONN. */
export async function daemonGone(merged: string): Promise<boolean> {
  try {
    await stat(merged)
    return false
  } catch (error) {
    return errnoOf(error) === 'ENOTCONN'
  }
}

/**
 * Unmounts a FUSE mount with fusermount3, the one way a user without root
 * may: retried while busy, then detached lazily, as the kernel overlay is.
 * "Not mounted" counts as done.
 */
export async function unmountFuse(target: string): Promise<UnmountResult> {
  const deadline = Date.now() + UNMOUNT_PATIENCE_MS
  for (let retries = 0; ; retries++) {
    // For root, fusermount3 answers "Invalid argument" when nothing is mounted.
    if (!(await isMounted(target))) return { retries }
    const { exitCode, stderr } = await fusermount(['-u', target])
    if (exitCode === 0 || /not found in|not mounted|no such file/i.test(stderr)) return { retries }
    if (!/busy/i.test(stderr)) {
      throw new ScratchfsError('EUNMOUNT', `unmounting ${show(target)} failed: ${stderr.trim()}`, {
        path: target,
        fix: `unmount it by hand (fusermount3 -u ${show(target)}) or run 'scratchfs clean'`,
      })
    }
    if (Date.now() >= deadline) {
      const holders = await findHolders(target)
      await fusermount(['-u', '-z', target])
      log('detached %s, held by %o', target, holders)
      return { retries, detached: holders }
    }
    log('busy %s, retry %d', target, retries + 1)
    await sleep(UNMOUNT_RETRY_INTERVAL_MS)
  }
}

async function fusermount(args: string[]): Promise<{ exitCode: number; stderr: string }> {
  const result = await execa('fusermount3', args, { reject: false, stdin: 'ignore' })
  return { exitCode: result.exitCode ?? 1, stderr: result.stderr || result.message || '' }
}
