import { chmod, chown, mkdir, stat, utimes } from 'node:fs/promises'
import { diffView } from '../changes.js'
import { mountOverlay } from '../mount/mount.js'
import { unmountAll } from '../mount/unmount.js'
import { inUserNamespace } from '../proc.js'
import type { Backend, View } from './types.js'

/** Kernel overlayfs, mounted with this process's own privileges. */
export const overlay: Backend = {
  name: 'overlay',

  async create(view) {
    await Promise.all([mkdir(view.upper), mkdir(view.work), mkdir(view.merged)])
    await copyRootAttributes(view)
    await mountOverlay({ dir: view.dir, layers: view.layers, userxattr: inUserNamespace() })
  },

  destroy: (view) => unmountAll(view.merged),

  changes: (view) => diffView({ merged: view.merged, layers: view.layers, upper: view.upper }),
}

// The merged root takes its mode, owner and times from the upper dir, not
// from the golden: give the upper the golden root's.
export async function copyRootAttributes(view: View): Promise<void> {
  const top = view.layers[0]
  if (top === undefined) return
  const golden = await stat(top)
  await chmod(view.upper, golden.mode & 0o7777)
  if (process.getuid?.() === 0) await chown(view.upper, golden.uid, golden.gid).catch(() => {})
  await utimes(view.upper, golden.atime, golden.mtime)
}
