import { realpath } from 'node:fs/promises'
import type { Reporter, Vitest } from 'vitest/node'
import { GoldenGuard, scanGolden, VERIFIER_ENV, warnHazards } from '../verify.js'

/**
 * The run-wide golden checks, in the main process: every golden is walked
 * once at the start (warning about content that lets a test write outside
 * its view), and with `verify` walked again at the end, failing the run
 * when anything changed it. Workers leave their goldens to this process.
 */
export async function guardGoldens(
  golden: string | readonly string[] | undefined,
  verify: boolean,
): Promise<Reporter | undefined> {
  if (golden === undefined) return undefined
  const layers = await Promise.all(
    (typeof golden === 'string' ? [golden] : golden).map((layer) =>
      realpath(layer).catch(() => layer),
    ),
  )
  if (!verify) {
    // Still once per run: a missing golden is the fixture's error to report.
    for (const layer of layers) {
      try {
        warnHazards(scanGolden(layer))
      } catch {}
    }
    return undefined
  }

  process.env[VERIFIER_ENV] = String(process.pid)
  const guard = new GoldenGuard()
  guard.watch(layers)
  return new GoldenReporter(guard)
}

class GoldenReporter implements Reporter {
  #vitest: Vitest | undefined
  readonly #guard: GoldenGuard

  constructor(guard: GoldenGuard) {
    this.#guard = guard
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  onTestRunEnd(): void {
    const errors = this.#guard.check()
    for (const error of errors) this.#vitest?.logger.error(`scratchfs: ${error.message}`)
    if (errors.length > 0) process.exitCode = 1
  }
}
