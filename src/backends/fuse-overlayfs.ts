import { mkdir } from 'node:fs/promises'
import { diffView } from '../changes.js'
import { errnoOf, ScratchfsError, show } from '../errors.js'
import { daemonGone, mountFuseOverlay, unmountFuse } from '../mount/fuse.js'
import { joinResults, unmountOnFuse } from '../mount/unmount.js'
import { copyRootAttributes } from './overlay.js'
import type { Backend, View } from './types.js'

/**
 * fuse-overlayfs: an overlay served by a user-space daemon, for users who
 * may not mount the kernel's. Its mount is visible to every process, like
 * a root overlay, and its upper holds the same kind of changes.
 */
export const fuseOverlayfs: Backend = {
  name: 'fuse-overlayfs',

  async create(view, signal) {
    await Promise.all([mkdir(view.upper), mkdir(view.work), mkdir(view.merged)])
    copyRootAttributes(view)
    // Killing fuse-overlayfs halfway could leave its daemon serving a mount
    // nobody records: a started mount runs to the end, the caller takes it down.
    signal?.throwIfAborted()
    await mountFuseOverlay({ dir: view.dir, layers: view.layers })
  },

  async destroy(view) {
    // A dead daemon leaves a mount that answers ENOTCONN to everything; it
    // still has to come off, and the test that saw it fail deserves to know why.
    if (await daemonGone(view.merged)) {
      process.emitWarning(
        `the fuse-overlayfs daemon of view ${show(view.merged)} died while the view was in use; the view was unmounted and its writes are lost`,
        {
          code: 'SCRATCHFS_FUSE_DEAD',
          detail:
            'Something killed the daemon (an OOM kill, a kill of the process group). Check dmesg.',
        },
      )
    }
    // What a test mounted on or in the view first: the view would stay
    // busy, and deleting it would reach through those mounts.
    const inside = await unmountOnFuse(view.merged)
    return joinResults(inside, await unmountFuse(view.merged))
  },

  async changes(view) {
    try {
      return await diffView({ merged: view.merged, layers: view.layers, upper: view.upper })
    } catch (error) {
      if (errnoOf(error) !== 'ENOTCONN') throw error
      throw deadDaemon(view, error)
    }
  },
}

export function deadDaemon(view: View, cause: unknown): ScratchfsError {
  return new ScratchfsError(
    'EBACKEND',
    `the fuse-overlayfs daemon of view ${show(view.merged)} is gone: every access gives ENOTCONN`,
    {
      path: view.merged,
      fix: 'the view is lost; dispose() unmounts it. Look for what killed the daemon (dmesg), or use backend: overlay',
      cause,
    },
  )
}
