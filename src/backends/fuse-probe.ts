import { constants, statSync } from 'node:fs'
import { access, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from '../debug.js'
import { show } from '../errors.js'
import { inContainer, onPath } from '../host.js'
import { colonRefusal, mountFuseOverlay, unmountFuse } from '../mount/fuse.js'
import { PREFIX } from '../root.js'
import { dropUpper, placeUpper } from '../upper.js'
import type { ProbeResult } from './probe.js'

const log = debug('probe')

const name = 'fuse-overlayfs'

/**
 * Whether fuse-overlayfs really mounts here. The commands, /dev/fuse and
 * its mode are checked first only to give a precise reason; the verdict is
 * a real mount, a write, a delete and an unmount.
 */
export async function probeFuseOverlayfs(root: string, home?: string): Promise<ProbeResult> {
  const missing = await missingPiece()
  if (missing) return { name, ok: false, ...missing }
  // Said of the root itself, not of the probe's dir inside it.
  const refused = colonRefusal([{ path: root, name: `scratch root ${show(root)}` }])
  if (refused) return { name, ok: false, ...reasonAndFix(refused) }

  const dir = await mkdtemp(join(root, `${PREFIX}probe-`))
  const merged = join(dir, 'merged')
  let placed: Awaited<ReturnType<typeof placeUpper>> | undefined
  try {
    const lower = join(dir, 'lower')
    await mkdir(lower)
    await writeFile(join(lower, 'golden'), 'golden')
    placed = await placeUpper(dir, home)
    await Promise.all([mkdir(placed.upper), mkdir(placed.work), mkdir(merged)])
    await mountFuseOverlay({ dir, layers: [lower] })
    try {
      await writeFile(join(merged, 'written'), 'x')
      await unlink(join(merged, 'golden'))
      if ((await readFile(join(placed.upper, 'written'), 'utf8')) !== 'x') {
        throw new Error('a write to the view did not reach the upper dir')
      }
    } finally {
      await unmountFuse(merged)
    }
    return { name, ok: true }
  } catch (error) {
    log('fuse-overlayfs probe failed: %s', error)
    return { name, ok: false, ...reasonAndFix(error) }
  } finally {
    if (placed) await dropUpper({ dir, ...placed })
    await rm(dir, { recursive: true, force: true })
  }
}

async function missingPiece(): Promise<{ reason: string; fix: string } | undefined> {
  if (process.platform !== 'linux') {
    return { reason: `FUSE overlays are Linux-only (this is ${process.platform})`, fix: copyFix() }
  }
  if (!onPath('fuse-overlayfs')) {
    return {
      reason: 'fuse-overlayfs is not installed (not on PATH)',
      fix: 'sudo apt-get install fuse-overlayfs (dnf/apk: fuse-overlayfs)',
    }
  }
  if (!onPath('fusermount3')) {
    return {
      reason: 'fusermount3 is not installed (not on PATH)',
      fix: 'sudo apt-get install fuse3 (dnf/apk: fuse3)',
    }
  }
  const device = (() => {
    try {
      return statSync('/dev/fuse')
    } catch {
      return undefined
    }
  })()
  if (!device) {
    return {
      reason: '/dev/fuse does not exist',
      fix: inContainer()
        ? 'docker run --device /dev/fuse (and --cap-add SYS_ADMIN for fusermount3)'
        : 'sudo modprobe fuse',
    }
  }
  const usable = await access('/dev/fuse', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  )
  if (!usable) {
    const mode = (device.mode & 0o777).toString(8).padStart(4, '0')
    return {
      reason: `/dev/fuse is mode ${mode} (uid ${device.uid}): this user may not open it`,
      fix: 'sudo chmod 0666 /dev/fuse (the mode most distributions ship)',
    }
  }
  return undefined
}

function reasonAndFix(error: unknown): { reason: string; fix: string } {
  const [reason = '', fix] = (error instanceof Error ? error.message : String(error)).split(
    '\nFix: ',
  )
  return { reason: reason.split('\n')[0] ?? reason, fix: fix ?? copyFix() }
}

function copyFix(): string {
  return "use backend: 'copy'"
}
