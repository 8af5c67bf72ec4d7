import { realpath } from 'node:fs/promises'
import { type Base, fromBase } from '../base.js'
import { debug } from '../debug.js'
import { sweep } from '../sweep.js'

const log = debug('plugin')

// On a global: with Vitest's isolation each test file loads this module anew.
const SWEPT = Symbol.for('scratchfs.fixture.swept-roots')
type WithSwept = { [SWEPT]?: Map<string, Promise<string>> }

/**
 * A `root` given to one fixture rather than to the plugin: the plugin sweeps
 * its own root when the run starts, and this one is swept in the worker,
 * once, after its first view there is made: what dead runs left, and the
 * kept views of runs that had ended when this one started (this run's
 * belong to the plugin's process, which is alive; those of a run that
 * ended since are the next run's). Resolves to the root's realpath, for
 * the summary to count what the run left there.
 */
export function sweepFixtureRoot(
  root: string,
  base: Base | undefined,
  startedAt: number | undefined,
): Promise<string> {
  const global = globalThis as WithSwept
  global[SWEPT] ??= new Map()
  const path = fromBase(root, base)
  let sweeping = global[SWEPT].get(path)
  if (!sweeping) {
    sweeping = sweepOnce(path, startedAt ?? Date.now())
    global[SWEPT].set(path, sweeping)
  }
  return sweeping
}

async function sweepOnce(path: string, keptBefore: number): Promise<string> {
  // Made by the view just before; a path that moved since is still swept as given.
  const real = await realpath(path).catch(() => path)
  // Another worker may be sweeping the same root: what it removes first is
  // gone either way, and a test does not fail over a leftover.
  const removed = await sweep(real, { keptBefore }).catch((error: unknown) => {
    log('sweeping %s: %s', real, error)
    return []
  })
  log('swept %d leftovers under %s', removed.length, real)
  return real
}
