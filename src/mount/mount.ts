import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { debug } from '../debug.js'
import { ScratchfsError, show } from '../errors.js'
import { mountOverlayCall } from './syscall.js'

const log = debug('mount')

/** The kernel refuses a 501st lower layer with a bare EINVAL. */
export const MAX_LAYERS = 500

/** The old mount API passes options in one page and cuts the rest silently. */
export const MAX_OPTIONS_BYTES = 4000

export interface OverlayMount {
  /** The view dir: holds the alias links, upper/, work/ and merged/. */
  dir: string
  /** Realpaths of the lower layers, top first. */
  layers: readonly string[]
  /** Inside a user namespace the kernel wants `userxattr`. */
  userxattr: boolean
  /** Made ahead of time: the kernel's slow step runs on libuv's threads. */
  ahead?: boolean
  /** The alias links are made already (linkLayers). */
  linked?: boolean
}

/**
 * The option string. The kernel splits it on every comma and colon and
 * mount(8) eats words such as `ro` even inside a path, so no user path ever
 * goes in: lowers are alias links named l0, l1, ... and upper and work are
 * named relative to the view dir, which mount runs in.
 */
export function overlayOptions(layerCount: number, userxattr: boolean): string {
  const lowers = Array.from({ length: layerCount }, (_, index) => `l${index}`).join(':')
  const options = [
    `lowerdir=${lowers}`,
    'upperdir=upper',
    'workdir=work',
    'nosuid',
    'nodev',
    'index=off',
    // Views are thrown away: an upper is never mounted twice, and each mount
    // gets an emptied work dir. Skip the syncs that make unmount cost 10 ms
    // after a write.
    'volatile',
  ]
  if (userxattr) options.push('userxattr')
  return options.join(',')
}

/** Checks the layer count and option size, so no mount fails on a limit. */
export function checkLimits(layers: readonly string[]): void {
  if (layers.length > MAX_LAYERS) {
    throw new ScratchfsError(
      'EMOUNT',
      `golden has ${layers.length} layers; overlayfs takes at most ${MAX_LAYERS}`,
      {
        fix: `merge some layers into one directory so that at most ${MAX_LAYERS} remain`,
      },
    )
  }
  const bytes = Buffer.byteLength(overlayOptions(layers.length, true))
  if (bytes > MAX_OPTIONS_BYTES) {
    throw new ScratchfsError(
      'EMOUNT',
      `the overlay options for ${layers.length} layers take ${bytes} bytes; the kernel takes ${MAX_OPTIONS_BYTES}`,
      {
        fix: 'merge some layers into one directory',
      },
    )
  }
}

/** The alias links l0, l1, ... in the view dir, one per layer, top first. */
export async function linkLayers(dir: string, layers: readonly string[]): Promise<void> {
  await Promise.all(layers.map((layer, index) => symlink(layer, join(dir, `l${index}`))))
}

/** Creates the alias links (unless made) and mounts the overlay on `dir/merged`. */
export async function mountOverlay(mount: OverlayMount): Promise<void> {
  checkLimits(mount.layers)
  if (!mount.linked) await linkLayers(mount.dir, mount.layers)

  const options = overlayOptions(mount.layers.length, mount.userxattr)
  log('mount -o %s in %s', options, mount.dir)
  const result = await mountOverlayCall(
    { dir: mount.dir, options },
    mount.ahead ? 'off-thread' : 'auto',
  )
  if (result.exitCode === 0) return

  const stderr = result.stderr
  throw new ScratchfsError(
    'EMOUNT',
    `mounting an overlay on ${show(join(mount.dir, 'merged'))} failed: ${stderr}\ncommand: ${result.command}`,
    {
      path: join(mount.dir, 'merged'),
      fix: mountFix(stderr),
      cause: result,
    },
  )
}

function mountFix(stderr: string): string {
  if (/permission denied|must be superuser|operation not permitted/i.test(stderr)) {
    return "run as root, run the tests under 'scratchfs run -- <command>', or pass backend: 'copy'"
  }
  if (/wrong fs type|unknown filesystem|not supported/i.test(stderr)) {
    return "put the scratch root on a local disk or tmpfs (root: '/dev/shm/...'); overlay, NFS and FUSE cannot hold an upper dir"
  }
  if (/ENOENT|No such file or directory/.test(stderr))
    return "install util-linux (mount) or pass backend: 'copy'"
  return "check `dmesg | grep overlay` for the kernel's reason, or pass backend: 'copy'"
}
