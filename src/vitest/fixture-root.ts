import { realpath } from 'node:fs/promises'
import { type Base, fromBase } from '../base.js'
import { debug } from '../debug.js'
import { sweep } from '../sweep.js'

const log = debug('plugin')

const swept = new Map<string, Promise<string>>()

/**
 * A `root` given to one fixture rather than to the plugin: the plugin sweeps
 * its own root when the run starts, and this one is swept in the worker,
 * once, after its first view there is made: what dead runs left, kept views
 * of earlier runs among them (this run's belong to the plugin's process,
 * which is alive). Resolves to the root's realpath, for the summary to
 * count what the run left there.
 */
export function sweepFixtureRoot(root: string, base: Base | undefined): Promise<string> {
  const path = fromBase(root, base)
  let sweeping = swept.get(path)
  if (!sweeping) {
    sweeping = sweepOnce(path)
    swept.set(path, sweeping)
  }
  return sweeping
}

async function sweepOnce(path: string): Promise<string> {
  // Made by the view just before; a path that moved since is still swept as given.
  const real = await realpath(path).catch(() => path)
  // Another worker may be sweeping the same root: what it removes first is
  // gone either way, and a test does not fail over a leftover.
  const removed = await sweep(real).catch((error: unknown) => {
    log('sweeping %s: %s', real, error)
    return []
  })
  log('swept %d leftovers under %s', removed.length, real)
  return real
}
