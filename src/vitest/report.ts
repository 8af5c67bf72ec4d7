import type { BackendName } from '../backends/types.js'

/** What a fixture records about its view in `task.meta.scratchfs`. */
export interface ViewReport {
  backend: BackendName
  /** Setup plus teardown, in milliseconds. */
  ms: number
  /** The directory holding what a failed test wrote. */
  kept?: string
  /** How many extra tries unmounting took while something held the view. */
  retries?: number
  /** The root the view was made in, when the fixture was given one of its own. */
  root?: string
}

/** The line that tells where a failed test's view was kept. */
export function keptLine(path: string): string {
  return `scratchfs: kept ${path}`
}

/**
 * Prints the kept line from a worker, when no plugin reporter will. Both
 * pools hand a worker's process.stderr to the main process (forks through
 * a pipe, threads through the parent's stream), where Vitest's reporter
 * keeps it clear of its progress window; `silent` does not hide it, as it
 * would hide console output.
 */
export function printKept(path: string): void {
  process.stderr.write(`${keptLine(path)}\n`)
}
