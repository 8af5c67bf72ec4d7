import type { ProbeResult } from '../backends/probe.js'
import { seedProbe } from '../backends/probe.js'
import { BASE, type WithBase } from '../base.js'
import type { ScratchOptions } from '../options.js'

/** The key under which the config plugin provides its settings to workers. */
export const PROVIDE_KEY = 'scratchfs'

/**
 * The environment is set up before Vitest's `inject` works, so the plugin
 * also hands its settings to workers through this variable.
 */
export const PLUGIN_ENV = 'SCRATCHFS_PLUGIN'

/** What the config plugin hands to every worker. */
export interface Provided {
  /** Defaults for every view; options given to a fixture win. */
  defaults: Partial<Pick<ScratchOptions, 'golden' | 'backend' | 'root'>>
  /** The overlay probe the main process made, for the default root. */
  probe?: { root: string; result: ProbeResult }
  /**
   * The Vitest project's root, where relative paths given to a fixture or
   * the environment start, as they do in the plugin and in the config: a
   * worker's cwd is wherever vitest was started.
   */
  base?: string
  /** When the run started (ms since the epoch): what a worker's sweep leaves alone. */
  startedAt?: number
}

declare module 'vitest' {
  export interface ProvidedContext {
    scratchfs: Provided | undefined
  }
}

/** The plugin's settings as the environment sees them, if a plugin set any. */
export function providedFromEnv(): Provided | undefined {
  const json = process.env[PLUGIN_ENV]
  if (!json) return undefined
  try {
    return JSON.parse(json) as Provided
  } catch {
    return undefined
  }
}

/**
 * Plugin defaults under the options given here; a missing option stays
 * missing. Seeds this process with the plugin's probe so it is not repeated.
 * Relative paths start at the project root the plugin names; without the
 * plugin, at the current directory.
 */
export function withDefaults(
  provided: Provided | undefined,
  given: Partial<ScratchOptions>,
): Partial<ScratchOptions> & WithBase {
  if (provided?.probe) seedProbe(provided.probe.root, provided.probe.result)
  const merged: Partial<ScratchOptions> & WithBase = { ...provided?.defaults }
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value
  }
  if (provided?.base) merged[BASE] = { dir: provided.base, what: 'the Vitest project root' }
  return merged
}
