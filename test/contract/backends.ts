import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe } from 'vitest'
import { probeFuseOverlayfs } from '../../src/backends/fuse-probe.js'
import { probeOverlay } from '../../src/backends/probe.js'
import type { BackendName } from '../../src/backends/types.js'
import { inUserNamespace } from '../../src/proc.js'
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
const ALL: readonly ContractBackend[] = [
  { name: 'overlay', unavailable: overlayUnavailable },
  { name: 'fuse-overlayfs', unavailable: fuseUnavailable },
  { name: 'copy', unavailable: async () => undefined },
]

/**
 * SCRATCHFS_CONTRACT_BACKENDS=fuse-overlayfs,copy narrows the list: CI runs
 * the contract once more as a plain user for the backends that user has.
 */
export const BACKENDS: readonly ContractBackend[] = ALL.filter(
  (backend) =>
    !process.env.SCRATCHFS_CONTRACT_BACKENDS ||
    process.env.SCRATCHFS_CONTRACT_BACKENDS.split(',').includes(backend.name),
)

// Only a real mount tells whether overlay works here; probe in a private dir.
async function overlayUnavailable(): Promise<string | undefined> {
  if (!isRoot && !inUserNamespace()) {
    return "needs root (CAP_SYS_ADMIN) or 'scratchfs run' to mount overlayfs"
  }
  const dir = await mkdtemp(join(tmpdir(), 'sfs-probe-'))
  try {
    const result = await probeOverlay(dir)
    return result.ok ? undefined : (result.reason ?? 'overlay probe failed')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// fuse-overlayfs needs the package, fusermount3 and a usable /dev/fuse.
async function fuseUnavailable(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'sfs-probe-'))
  try {
    const result = await probeFuseOverlayfs(dir)
    return result.ok ? undefined : `${result.reason} (fix: ${result.fix})`
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
