import { chmodSync, chownSync, mkdirSync, statSync, utimesSync } from 'node:fs'
import { chmod, chown, mkdir, stat, utimes } from 'node:fs/promises'
import { diffView } from '../changes.js'
import { mountOverlay } from '../mount/mount.js'
import { unmountMountPoint } from '../mount/unmount.js'
import { inUserNamespace } from '../proc.js'
import type { Backend, View } from './types.js'

/** Kernel overlayfs, mounted with this process's own privileges. */
export const overlay: Backend = {
  name: 'overlay',

  async create(view, signal, ahead = false) {
    // A mount takes a millisecond and cannot be cut short: not starting it is enough.
    signal?.throwIfAborted()
    const dirs = [view.upper, view.work, view.merged]
    if (ahead) {
      await Promise.all(dirs.map((dir) => mkdir(dir)))
      await copyRootAttributesLater(view)
    } else {
      // Blocking on purpose: a test waits for this view, and three mkdirs
      // cost less than three trips through libuv's thread pool.
      for (const dir of dirs) mkdirSync(dir)
      copyRootAttributes(view)
    }
    await mountOverlay({ dir: view.dir, layers: view.layers, userxattr: userxattr(), ahead })
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

async function copyRootAttributesLater(view: View): Promise<void> {
  const top = view.layers[0]
  if (top === undefined) return
  const golden = await stat(top)
  await chmod(view.upper, golden.mode & 0o7777)
  if (process.getuid?.() === 0) await chown(view.upper, golden.uid, golden.gid).catch(() => {})
  await utimes(view.upper, golden.atime, golden.mtime)
}
