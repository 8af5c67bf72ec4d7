import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from '../debug.js'
import { ScratchfsError } from '../errors.js'
import { mountOverlay } from '../mount/mount.js'
import { unmountAll } from '../mount/unmount.js'
import { inUserNamespace } from '../proc.js'
import { PREFIX } from '../root.js'
import { dropUpper, placeUpper, type UpperPlan, unfitForUpper } from '../upper.js'
import { copy } from './copy.js'
import { fuseOverlayfs } from './fuse-overlayfs.js'
import { probeFuseOverlayfs } from './fuse-probe.js'
import { overlay } from './overlay.js'
import type { Backend, BackendName } from './types.js'

const log = debug('probe')

export const backends: Record<BackendName, Backend | undefined> = {
  overlay,
  'fuse-overlayfs': fuseOverlayfs,
  copy,
}

export const BACKEND_NAMES: readonly BackendName[] = ['overlay', 'fuse-overlayfs', 'copy']

export interface ProbeResult {
  name: BackendName
  ok: boolean
  reason?: string
  fix?: string
}

/**
 * Whether an overlay really mounts here, with its upper where `plan` puts
 * views' uppers (under `root`, or on a tmpfs). Only a real mount tells: a
 * user namespace can be allowed to exist but not to mount (Ubuntu 24.04),
 * and a container's /tmp can be an overlay itself.
 */
export async function probeOverlay(root: string, plan: UpperPlan = {}): Promise<ProbeResult> {
  const name = 'overlay'
  if (process.platform !== 'linux') {
    return {
      name,
      ok: false,
      reason: `overlayfs is Linux-only (this is ${process.platform})`,
      fix: "use backend: 'copy'",
    }
  }
  const unfit = plan.unfit ?? (plan.home ? undefined : await unfitForUpper(root))
  if (unfit) return { name, ok: false, ...unfit }

  const dir = await mkdtemp(join(root, `${PREFIX}probe-`))
  const lower = join(dir, 'lower')
  const merged = join(dir, 'merged')
  let placed: Awaited<ReturnType<typeof placeUpper>> | undefined
  try {
    await mkdir(lower)
    await writeFile(join(lower, 'golden'), 'golden')
    placed = await placeUpper(dir, plan.home)
    await Promise.all([mkdir(placed.upper), mkdir(placed.work), mkdir(merged)])
    await mountOverlay({ dir, layers: [lower], userxattr: inUserNamespace() })
    try {
      // Deleting a lower file needs a whiteout: without userxattr in a user
      // namespace the mount works but this fails.
      await writeFile(join(merged, 'written'), 'x')
      await unlink(join(merged, 'golden'))
      const upper = await readFile(join(placed.upper, 'written'), 'utf8')
      if (upper !== 'x') throw new Error('a write to the view did not reach the upper dir')
    } finally {
      await unmountAll(merged)
    }
    return { name, ok: true }
  } catch (error) {
    log('overlay probe failed: %s', error)
    const fix = error instanceof ScratchfsError ? error.message.split('\nFix: ')[1] : undefined
    const reason =
      (error instanceof Error ? error.message.split('\nFix: ')[0] : String(error)) ?? ''
    return {
      name,
      ok: false,
      reason: reason.split('\n')[0] ?? reason,
      fix: fix ?? "run as root or use backend: 'copy'",
    }
  } finally {
    if (placed) await dropUpper({ dir, ...placed })
    await rm(dir, { recursive: true, force: true })
  }
}

const probes = new Map<string, Promise<ProbeResult>>()

type Probed = Exclude<BackendName, 'copy'>

const probers: Record<Probed, (root: string, plan: UpperPlan) => Promise<ProbeResult>> = {
  overlay: probeOverlay,
  'fuse-overlayfs': (root, plan) => probeFuseOverlayfs(root, plan.home),
}

function probeKey(name: BackendName, root: string, plan: UpperPlan): string {
  return `${name}\0${root}\0${plan.home ? 'tmpfs' : 'disk'}`
}

/** Probes a backend once per root, upper placement and process. */
export function probeOnce(
  root: string,
  name: Probed = 'overlay',
  plan: UpperPlan = {},
): Promise<ProbeResult> {
  const key = probeKey(name, root, plan)
  let result = probes.get(key)
  if (!result) {
    result = probers[name](root, plan)
    probes.set(key, result)
  }
  return result
}

/**
 * Hands a probe made elsewhere (the config plugin, in Vitest's main process)
 * to this process, so its workers do not mount a test overlay again.
 */
export function seedProbe(root: string, result: ProbeResult, plan: UpperPlan = {}): void {
  const key = probeKey(result.name, root, plan)
  if (!probes.has(key)) probes.set(key, Promise.resolve(result))
}

/**
 * The backend a view gets. `auto` takes the first that works; a backend
 * asked for by name that cannot work here throws with the reason.
 */
export async function chooseBackend(
  requested: 'auto' | BackendName,
  root: string,
  plan: UpperPlan = {},
): Promise<Backend> {
  if (requested === 'copy') return copy
  // The order `auto` tries them in: kernel overlay, then FUSE, then copy.
  const order: Probed[] = requested === 'auto' ? ['overlay', 'fuse-overlayfs'] : [requested]
  for (const name of order) {
    const result = await probeOnce(root, name, plan)
    if (result.ok) return backends[name] ?? copy
    log('auto: %s unavailable (%s)', name, result.reason)
    if (requested !== 'auto') {
      throw new ScratchfsError(
        'EBACKEND',
        `backend '${name}' cannot mount here: ${result.reason}`,
        {
          fix:
            result.fix ??
            "run as root, run the tests under 'scratchfs run -- <command>', or pass backend: 'copy'",
        },
      )
    }
  }
  return copy
}
