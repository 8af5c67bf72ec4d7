import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe } from 'vitest'
import { probeOverlay } from '../../src/backends/probe.js'
import type { BackendName } from '../../src/backends/types.js'
import { isRoot } from '../helpers.js'

/** One backend the contract runs against, and how to tell whether it can run here. */
export interface ContractBackend {
  name: BackendName
  /** Resolves to undefined when the backend works here, else the reason it cannot. */
  unavailable(): Promise<string | undefined>
}

/**
 * Every backend the contract covers. Adding one here runs the whole
 * contract against it; where it cannot work, its suites skip with the reason.
 */
export const BACKENDS: readonly ContractBackend[] = [
  { name: 'overlay', unavailable: overlayUnavailable },
  { name: 'copy', unavailable: async () => undefined },
]

// Only a real mount tells whether overlay works here; probe in a private dir.
async function overlayUnavailable(): Promise<string | undefined> {
  if (!isRoot) return 'needs root (CAP_SYS_ADMIN) to mount overlayfs'
  const dir = await mkdtemp(join(tmpdir(), 'sfs-probe-'))
  try {
    const result = await probeOverlay(dir)
    return result.ok ? undefined : (result.reason ?? 'overlay probe failed')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export interface GatedBackend {
  name: BackendName
  reason: string | undefined
}

/** The backends with their availability, probed once per test file. */
export const GATED: readonly GatedBackend[] = await Promise.all(
  BACKENDS.map(async (backend) => ({ name: backend.name, reason: await backend.unavailable() })),
)

/** The backends that work here. */
export const AVAILABLE: readonly BackendName[] = GATED.filter((b) => !b.reason).map((b) => b.name)

/**
 * Declares the same suite once per backend. A backend that cannot run here
 * still shows up, skipped, with the reason in its name.
 */
export function describeEachBackend(title: string, suite: (backend: BackendName) => void): void {
  for (const { name, reason } of GATED) {
    const full = reason ? `${title} [${name}] (skipped: ${reason})` : `${title} [${name}]`
    describe.skipIf(reason !== undefined)(full, () => suite(name))
  }
}
