import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdir, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { debug } from '../debug.js'
import { ScratchfsError, show } from '../errors.js'
import { realUid, runOwner } from '../proc.js'
import { makeViewDir } from '../root.js'

const log = debug('tmpfs')

/** What tmpfs takes when no size is given: half the RAM, used only as written. */
export const DEFAULT_TMPFS_SIZE = '50%'

export const TMPFS_MAGIC = 0x01021994

const mounts = new Map<string, Promise<string>>()

/**
 * A tmpfs for the uppers of this process's views under `root`: one per
 * process and root, not one per view, so a view costs no extra mount. It
 * lives in a `scratchfs-tmpfs-*` dir with an owner record, so mountinfo
 * shows it and the sweeper removes it when this process died without
 * unmounting it; a normal exit unmounts it.
 */
export function tmpfsFor(root: string, size = DEFAULT_TMPFS_SIZE): Promise<string> {
  const key = `${root}\0${size}`
  let mounted = mounts.get(key)
  if (!mounted) {
    mounted = mountTmpfs(root, size)
    mounts.set(key, mounted)
    // A failed mount is not remembered: the next view asks again and gets
    // the error again, rather than a stale promise.
    mounted.catch(() => mounts.delete(key))
  }
  return mounted
}

async function mountTmpfs(root: string, size: string): Promise<string> {
  const dir = await makeViewDir(root, 'tmpfs', {
    run: runOwner(),
    backend: 'tmpfs',
    label: 'tmpfs',
  })
  const target = join(dir, 'mnt')
  await mkdir(target)

  // Run in the dir, like the overlay mounts: the root's path never reaches
  // the option string, and the size was checked against /^\d+[kmg%]?$/.
  const options = `size=${size},mode=0700,nosuid,nodev`
  const result = await execa('mount', ['-t', 'tmpfs', '-o', options, 'scratchfs', 'mnt'], {
    cwd: dir,
    reject: false,
    stdin: 'ignore',
  })
  if (result.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new ScratchfsError(
      'EMOUNT',
      `mounting a tmpfs for overlay uppers on ${show(target)} failed: ${result.stderr.trim() || result.message}`,
      { path: target, fix: await tmpfsFix(), cause: result },
    )
  }

  log('mounted tmpfs (size %s) on %s', size, target)
  process.once('exit', () => unmountNow(dir, target))
  return target
}

// Nothing asynchronous runs in 'exit': unmount and delete synchronously.
// Lazily, because a view whose holders kept it busy may still use its upper.
function unmountNow(dir: string, target: string): void {
  spawnSync('umount', ['--lazy', target], { stdio: 'ignore' })
  rmSync(dir, { recursive: true, force: true })
}

/**
 * What to set when scratchfs may not mount a tmpfs: a root on a tmpfs that
 * already exists (named when /dev/shm is one), or a namespace where it may.
 */
export async function tmpfsFix(): Promise<string> {
  const shm = await statfs('/dev/shm').catch(() => undefined)
  const ready =
    shm?.type === TMPFS_MAGIC ? `root: '/dev/shm/scratchfs-${realUid()}' (a tmpfs here)` : undefined
  return [
    "run the tests under 'scratchfs run -- <command>' (or as root) so scratchfs can mount a tmpfs",
    `or pass ${ready ?? 'a root on a local disk or a tmpfs'}`,
  ].join(', ')
}
