import { chmodSync, chownSync, mkdirSync, statSync, utimesSync } from 'node:fs'
import { chmod, chown, mkdir, stat, utimes } from 'node:fs/promises'
import { diffView } from '../changes.js'
import { linkLayers, mountOverlay } from '../mount/mount.js'
import { unmountMountPoint } from '../mount/unmount.js'
import { inUserNamespace } from '../proc.js'
import type { Backend, View } from './types.js'

/** Kernel overlayfs, mounted with this process's own privileges. */
export const overlay: Backend = {
  name: 'overlay',

  async create(view, signal, ahead = false, recycled = false) {
    // A mount takes a millisecond and cannot be cut short: not starting it is enough.
    signal?.throwIfAborted()
    const dirs = recycled ? [view.upper] : [view.upper, view.work, view.merged]
    if (ahead) {
      // Each call a trip through libuv's thread pool: as few rounds as can be.
      await makeDirsLater(view, dirs, !recycled)
    } else {
      // Blocking on purpose: a test waits for this view, and three mkdirs
      // cost less than three trips through libuv's thread pool.
      for (const dir of dirs) mkdirSync(dir)
      copyRootAttributes(view)
    }
    await mountOverlay({
      dir: view.dir,
      layers: view.layers,
      userxattr: userxattr(),
      ahead,
      linked: ahead || recycled,
    })
  },

  destroy: (view) => unmountMountPoint(view.merged),

  changes: (view) => diffView({ merged: view.merged, layers: view.layers, upper: view.upper }),
}

let namespaced: { pid: number; inside: boolean } | undefined

// Whether this process is in a user namespace cannot change after it starts
// (short of unshare(2), which Node does not call): read uid_map once.
function userxattr(): boolean {
  if (namespaced?.pid !== process.pid) namespaced = { pid: process.pid, inside: inUserNamespace() }
  return namespaced.inside
}

// The merged root takes its mode, owner and times from the upper dir, not
// from the golden: give the upper the golden root's.
export function copyRootAttributes(view: View): void {
  const top = view.layers[0]
  if (top === undefined) return
  const golden = statSync(top)
  chmodSync(view.upper, golden.mode & 0o7777)
  if (process.getuid?.() === 0) {
    try {
      chownSync(view.upper, golden.uid, golden.gid)
    } catch {}
  }
  utimesSync(view.upper, golden.atime, golden.mtime)
}

// The dirs, the layers' alias links and the golden root's stat in one
// round, then its mode, owner and times in a second: a directory's mode
// survives chown, so the three need no order.
async function makeDirsLater(view: View, dirs: readonly string[], link: boolean): Promise<void> {
  const top = view.layers[0]
  const [golden] = await Promise.all([
    top === undefined ? undefined : stat(top),
    link ? linkLayers(view.dir, view.layers) : undefined,
    ...dirs.map((dir) => mkdir(dir)),
  ])
  if (golden === undefined) return
  await Promise.all([
    chmod(view.upper, golden.mode & 0o7777),
    process.getuid?.() === 0
      ? chown(view.upper, golden.uid, golden.gid).catch(() => {})
      : undefined,
    utimes(view.upper, golden.atime, golden.mtime),
  ])
}
