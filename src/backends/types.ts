import type { Change } from '../changes.js'
import type { UnmountResult } from '../mount/unmount.js'

export type BackendName = 'overlay' | 'fuse-overlayfs' | 'copy'

/** The directories of one view; every path is canonical. */
export interface View {
  dir: string
  merged: string
  upper: string
  work: string
  /** Golden layer realpaths, top first. */
  layers: readonly string[]
}

/** How one kind of view is made, taken down and compared with its golden. */
export interface Backend {
  readonly name: BackendName
  /**
   * Makes `view.merged` show the golden, writable; the dirs exist and are
   * empty. Once `signal` aborts it stops as soon as it can and rejects with
   * the signal's reason; what it made so far stays for the caller to remove.
   * `ahead` marks a view made ahead of time, while a test runs: it then
   * blocks the thread as little as it can, at the cost of latency.
   * `recycled` marks a view dir an earlier view of the same golden left:
   * its layer links, work and merged dirs are there, the upper is not.
   */
  create(view: View, signal?: AbortSignal, ahead?: boolean, recycled?: boolean): Promise<void>
  /** Undoes create; what the view wrote stays on disk until the dir is removed. */
  destroy(view: View): Promise<UnmountResult>
  changes(view: View): Promise<Change[]>
}
