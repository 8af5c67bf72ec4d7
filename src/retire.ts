import { renameSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { View } from './backends/types.js'
import { debug } from './debug.js'
import { show } from './errors.js'
import { trackView, untrackView } from './exit.js'
import { removeLater, removeTree } from './remove.js'
import { GONE, PREFIX, RECORD } from './root.js'
import { dropUpper } from './upper.js'

const log = debug('retire')

const pending = new Set<Promise<void>>()

/**
 * Deletions in flight before dispose() waits for one. A suite whose tests
 * never yield (synchronous writes) would otherwise pile them up for the exit
 * path, which a runner may cut short.
 */
const MAX_PENDING = 4

/**
 * Deletes an unmounted view without making its test wait: one rename now,
 * the rest on libuv's threads while the next test runs. On ext4 each rmdir
 * costs about 0.1 ms and a view holds seven dirs, more than the mount and
 * unmount together.
 */
export async function retireView(view: View): Promise<void> {
  // Renamed GONE-...: still a view dir with its record, tracked like a live
  // one, so an exit, a signal, the run's summary or a later sweep finishes
  // what the background delete did not.
  const gone = join(dirname(view.dir), `${GONE}${basename(view.dir).slice(PREFIX.length)}`)
  let renamed = true
  try {
    renameSync(view.dir, gone)
  } catch (error) {
    log('could not rename %s: %s', view.dir, error)
    renamed = false
  }
  if (renamed) {
    trackView(gone)
    untrackView(view.dir)
    deleteLater(gone, view)
  } else {
    trackView(view.dir)
    deleteLater(view.dir, view)
  }
  while (pending.size > MAX_PENDING) await Promise.race(pending)
}

/** Deletes an unmounted view in place: its dir, and its upper on a tmpfs. */
export async function removeView(view: View): Promise<void> {
  await dropUpper(view)
  await removeTree(view.dir, { last: RECORD })
}

function deleteLater(dir: string, view: View): void {
  const side = dirname(view.upper) === view.dir ? undefined : view
  const job = (async () => {
    if (side) await dropUpper(side)
    await removeLater(dir, { last: RECORD })
  })()
    .catch((error: unknown) =>
      process.emitWarning(
        `scratchfs could not delete the disposed view ${show(dir)}: ${(error as Error).message}`,
        {
          code: 'SCRATCHFS_DELETE',
          detail: "It is unmounted; the next run or 'scratchfs clean' removes it.",
        },
      ),
    )
    .finally(() => {
      pending.delete(job)
      untrackView(dir)
    })
  pending.add(job)
}

/** Resolves once every view retired so far in this thread is deleted. */
export async function retired(): Promise<void> {
  while (pending.size > 0) await Promise.all(pending)
}
