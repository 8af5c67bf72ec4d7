import { mkdir, mkdtemp, readFile, rm, statfs, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from '../debug.js'
import { ScratchfsError, show } from '../errors.js'
import { mountOverlay } from '../mount/mount.js'
import { unmountAll } from '../mount/unmount.js'
import { inUserNamespace } from '../proc.js'
import { PREFIX } from '../root.js'
import { copy } from './copy.js'
import { overlay } from './overlay.js'
import type { Backend, BackendName } from './types.js'

const log = debug('probe')

export const backends: Record<BackendName, Backend | undefined> = {
  overlay,
  'fuse-overlayfs': undefined,
  copy,
}

export const BACKEND_NAMES: readonly BackendName[] = ['overlay', 'fuse-overlayfs', 'copy']

export interface ProbeResult {
  name: BackendName
  ok: boolean
  reason?: string
  fix?: string
}

const OVERLAYFS_MAGIC = 0x794c7630
const NFS_MAGIC = 0x6969
const FUSE_MAGIC = 0x65735546

/**
 * Whether an overlay really mounts here, with its upper under `root`. Only a
 * real mount tells: a user namespace can be allowed to exist but not to
 * mount (Ubuntu 24.04), and a container's /tmp can be an overlay itself.
 */
export async function probeOverlay(root: string): Promise<ProbeResult> {
  const name = 'overlay'
  if (process.platform !== 'linux') {
    return {
      name,
      ok: false,
      reason: `overlayfs is Linux-only (this is ${process.platform})`,
      fix: "use backend: 'copy'",
    }
  }
  const fs = await statfs(root).catch(() => undefined)
  if (fs && [OVERLAYFS_MAGIC, NFS_MAGIC, FUSE_MAGIC].includes(fs.type)) {
    return {
      name,
      ok: false,
      reason: `scratch root ${show(root)} is on a filesystem (0x${fs.type.toString(16)}) that cannot hold an overlay upper dir`,
      fix: "pass a root on a local disk or tmpfs, e.g. root: '/dev/shm/scratch'",
    }
  }

  const dir = await mkdtemp(join(root, `${PREFIX}probe-`))
  const lower = join(dir, 'lower')
  const merged = join(dir, 'merged')
  try {
    await mkdir(lower)
    await writeFile(join(lower, 'golden'), 'golden')
    await Promise.all(['upper', 'work', 'merged'].map((sub) => mkdir(join(dir, sub))))
    await mountOverlay({ dir, layers: [lower], userxattr: inUserNamespace() })
    try {
      // Deleting a lower file needs a whiteout: without userxattr in a user
      // namespace the mount works but this fails.
      await writeFile(join(merged, 'written'), 'x')
      await unlink(join(merged, 'golden'))
      const upper = await readFile(join(dir, 'upper', 'written'), 'utf8')
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
    await rm(dir, { recursive: true, force: true })
  }
}

const probes = new Map<string, Promise<ProbeResult>>()

/** Probes once per root and process. */
export function probeOnce(root: string): Promise<ProbeResult> {
  let result = probes.get(root)
  if (!result) {
    result = probeOverlay(root)
    probes.set(root, result)
  }
  return result
}

/**
 * Hands a probe made elsewhere (the config plugin, in Vitest's main process)
 * to this process, so its workers do not mount a test overlay again.
 */
export function seedProbe(root: string, result: ProbeResult): void {
  if (!probes.has(root)) probes.set(root, Promise.resolve(result))
}

/**
 * The backend a view gets. `auto` takes the first that works; a backend
 * asked for by name that cannot work here throws with the reason.
 */
export async function chooseBackend(
  requested: 'auto' | BackendName,
  root: string,
): Promise<Backend> {
  if (requested === 'copy') return copy
  if (requested === 'fuse-overlayfs') {
    throw new ScratchfsError(
      'EBACKEND',
      "backend 'fuse-overlayfs' is not available in this version",
      {
        fix: "use backend: 'overlay' (root or 'scratchfs run') or backend: 'copy'",
      },
    )
  }
  const result = await probeOnce(root)
  if (result.ok) return overlay
  if (requested === 'overlay') {
    throw new ScratchfsError('EBACKEND', `backend 'overlay' cannot mount here: ${result.reason}`, {
      fix:
        result.fix ??
        "run as root, run the tests under 'scratchfs run -- <command>', or pass backend: 'copy'",
    })
  }
  log('auto: overlay unavailable (%s), using copy', result.reason)
  return copy
}
