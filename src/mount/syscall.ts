import { spawnSync } from 'node:child_process'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import { constants as os } from 'node:os'
import { execa } from 'execa'
import { debug } from '../debug.js'

const log = debug('syscall')

/** What one mount or umount call gave: the shape of a spawned command's result. */
export interface CallResult {
  exitCode: number
  stderr: string
  /** The call as a reader can repeat it, for error messages. */
  command: string
}

export interface OverlayCall {
  /** The view dir: holds the alias links l0..lN, upper/, work/ and merged/. */
  dir: string
  /** The option string, naming lowers, upper and work relative to `dir`. */
  options: string
}

// From linux/mount.h: the new mount API's commands and flags.
const FSOPEN_CLOEXEC = 1
const FSCONFIG_SET_FLAG = 0
const FSCONFIG_SET_STRING = 1
const FSCONFIG_CMD_CREATE = 6
const FSMOUNT_CLOEXEC = 1
const MOUNT_ATTR: Record<string, number> = { nosuid: 0x2, nodev: 0x4, noexec: 0x8, ro: 0x1 }
const MOVE_MOUNT_F_EMPTY_PATH = 0x4
const MNT_DETACH = 2

/** The calls the mount needs, each answering its return value and errno together. */
type Kernel = {
  [name in 'fsopen' | 'fsconfig' | 'fsmount' | 'move_mount']: (
    ...args: (string | number | null)[]
  ) => Promise<Answer>
}

interface Answer {
  value: number
  /** The errno of a failed call; undefined when the call ran on another thread. */
  errno?: number
}

type Native = ((...args: unknown[]) => number) & {
  async: (...args: unknown[]) => void
}

interface Libc {
  fsopen: Native
  fsconfig: Native
  fsmount: Native
  move_mount: Native
  umount2(target: string, flags: number): number
  close(fd: number): number
  errno(): number
}

let libc: Libc | null | undefined

/**
 * libc through koffi, or null when it cannot be used: koffi is an optional
 * dependency, has no build for some platforms, and SCRATCHFS_NO_FFI=1
 * turns it off so the spawning path can be tested and chosen.
 */
export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc
  libc = null
  if (process.platform !== 'linux' || process.env.SCRATCHFS_NO_FFI === '1') return libc
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi')
    const lib = koffi.load('libc.so.6')
    const fn = (signature: string) => lib.func(signature) as unknown as Native
    libc = {
      fsopen: fn('int fsopen(const char *, unsigned int)'),
      fsconfig: fn('int fsconfig(int, unsigned int, const char *, const char *, int)'),
      fsmount: fn('int fsmount(int, unsigned int, unsigned int)'),
      move_mount: fn('int move_mount(int, const char *, int, const char *, unsigned int)'),
      umount2: fn('int umount2(const char *, int)'),
      close: fn('int close(int)'),
      errno: () => koffi.errno(),
    }
  } catch (error) {
    log('koffi unavailable, spawning mount and umount: %s', error)
  }
  return libc
}

/** True when mounts go straight to the kernel rather than through mount(8). */
export function usesSyscalls(): boolean {
  return loadLibc() !== null && !newApiRefused
}

// Set when the kernel refused the new mount API or `lowerdir+` (before 6.8):
// from then on this process spawns mount(8).
let newApiRefused = false

/**
 * Mounts an overlay on `dir/merged`. With koffi it calls the kernel's new
 * mount API: each layer goes in as its own `lowerdir+` value, and upper,
 * work and layers are named through /proc/self/fd of the view dir, so no
 * user path reaches the option parser and no chdir is needed (worker
 * threads may not chdir). Without koffi it runs mount(8) in the view dir.
 *
 * `offThread` runs the one slow call, building the superblock, on libuv's
 * threads, so a view prepared ahead of time does not block the test that
 * runs meanwhile. errno does not travel back from those threads: a failure
 * there says less, and the caller makes the view again in place to learn why.
 */
export async function mountOverlayCall(
  call: OverlayCall,
  via: 'auto' | 'spawn' | 'off-thread' = 'auto',
): Promise<CallResult> {
  const lib = via === 'spawn' ? null : loadLibc()
  if (lib && !newApiRefused) {
    const result = await mountWithNewApi(lib, call, via === 'off-thread')
    if (result) return result
  }
  return spawnMount(call)
}

function spawnMount(call: OverlayCall): Promise<CallResult> {
  const args = ['-t', 'overlay', '-o', call.options, 'scratchfs', 'merged']
  const command = `mount ${args.join(' ')} (in ${JSON.stringify(call.dir)})`
  return execa('mount', args, { cwd: call.dir, reject: false, stdin: 'ignore' }).then((result) => ({
    exitCode: result.exitCode ?? 1,
    stderr: result.stderr.trim() || (result.message ?? 'no output'),
    command,
  }))
}

// Made once per way of calling: libc is loaded once per process.
const kernels = new Map<boolean, Kernel>()

function kernelOf(lib: Libc, offThread: boolean): Kernel {
  const known = kernels.get(offThread)
  if (known) return known
  const names = ['fsopen', 'fsconfig', 'fsmount', 'move_mount'] as const
  const kernel = {} as Kernel
  for (const name of names) {
    const native = lib[name]
    kernel[name] = offThread
      ? (...args) =>
          new Promise((resolve, reject) => {
            native.async(...args, (error: unknown, value: number) =>
              error ? reject(error) : resolve({ value }),
            )
          })
      : // In place, errno is read before anything else can call into libc.
        async (...args) => {
          const value = native(...args)
          return value < 0 ? { value, errno: lib.errno() } : { value }
        }
  }
  kernels.set(offThread, kernel)
  return kernel
}

// Returns undefined when the kernel does not know the API, so the caller
// falls back to mount(8).
async function mountWithNewApi(
  lib: Libc,
  call: OverlayCall,
  offThread: boolean,
): Promise<CallResult | undefined> {
  // Every call but the one that builds the superblock takes microseconds
  // and is made in place; that one makes dirs in the work dir, and made
  // ahead of time it runs on libuv's threads.
  const kernel = kernelOf(lib, false)
  const build = kernelOf(lib, offThread).fsconfig
  const dirFd = openSync(call.dir, constants.O_RDONLY | constants.O_DIRECTORY)
  const at = (name: string) => `/proc/self/fd/${dirFd}/${name}`
  let fsFd = -1
  let step = 'fsopen overlay'
  try {
    const opened = await kernel.fsopen('overlay', FSOPEN_CLOEXEC)
    fsFd = opened.value
    // A view made ahead of time does not fall back to mount(8): the caller
    // makes the view in place instead, and that one learns why.
    if (fsFd < 0) return unknownApi(fsFd, step, opened.errno, offThread)

    let attrs = 0
    const set = async (key: string, value: string | null): Promise<Answer> => {
      step = value === null ? `fsconfig ${key}` : `fsconfig ${key}=${value}`
      const cmd = value === null ? FSCONFIG_SET_FLAG : FSCONFIG_SET_STRING
      return kernel.fsconfig(fsFd, cmd, key, value, 0)
    }
    let answer = await set('source', 'scratchfs')
    if (answer.value !== 0) return failure(fsFd, step, answer.errno)
    for (const option of call.options.split(',')) {
      const [key = '', value] = splitOption(option)
      const attr = MOUNT_ATTR[key]
      if (attr !== undefined) {
        attrs |= attr
        continue
      }
      if (key === 'lowerdir') {
        for (const lower of (value ?? '').split(':')) {
          answer = await set('lowerdir+', at(lower))
          if (answer.value !== 0) {
            return answer.errno === os.errno.EINVAL && lower === 'l0'
              ? unknownApi(fsFd, step, answer.errno, offThread)
              : failure(fsFd, step, answer.errno)
          }
        }
        continue
      }
      const path = key === 'upperdir' || key === 'workdir'
      answer = await set(key, path ? at(value ?? '') : (value ?? null))
      if (answer.value !== 0) return failure(fsFd, step, answer.errno)
    }

    step = 'fsconfig create'
    answer = await build(fsFd, FSCONFIG_CMD_CREATE, null, null, 0)
    if (answer.value !== 0) return failure(fsFd, step, answer.errno)
    step = 'fsmount'
    const mounted = await kernel.fsmount(fsFd, FSMOUNT_CLOEXEC, attrs)
    if (mounted.value < 0) return failure(fsFd, step, mounted.errno)
    step = 'move_mount merged'
    const moved = await kernel.move_mount(
      mounted.value,
      '',
      dirFd,
      'merged',
      MOVE_MOUNT_F_EMPTY_PATH,
    )
    lib.close(mounted.value)
    if (moved.value !== 0) return failure(fsFd, step, moved.errno)
    return { exitCode: 0, stderr: '', command: describeCall(call) }
  } finally {
    if (fsFd >= 0) lib.close(fsFd)
    closeSync(dirFd)
  }
}

function splitOption(option: string): [string, string | undefined] {
  const equals = option.indexOf('=')
  return equals < 0 ? [option, undefined] : [option.slice(0, equals), option.slice(equals + 1)]
}

// The kernel may not know the new API or `lowerdir+`: from then on mount(8)
// is spawned. Undefined sends this call there too, unless the view is made
// ahead of time: that one fails, and the caller makes it in place.
function unknownApi(
  fsFd: number,
  step: string,
  errno: number | undefined,
  ahead: boolean,
): CallResult | undefined {
  if (errno === os.errno.ENOSYS || errno === os.errno.EINVAL || errno === os.errno.ENODEV) {
    log('%s: %s; spawning mount(8) from now on', step, errnoName(errno))
    newApiRefused = true
  }
  return ahead ? failure(fsFd, step, errno) : undefined
}

// The new API keeps the kernel's own words about a failure in the fs
// context: read them, they say far more than the errno.
function failure(fsFd: number, step: string, errno: number | undefined): CallResult {
  const reasons: string[] = []
  const buffer = Buffer.alloc(512)
  for (;;) {
    let length = 0
    try {
      length = readSync(fsFd, buffer)
    } catch {
      break
    }
    if (length <= 0) break
    reasons.push(buffer.subarray(0, length).toString().replace(/^e /, ''))
  }
  const why = [errno === undefined ? 'failed' : errnoMessage(errno), ...reasons].join(': ')
  return { exitCode: 32, stderr: why, command: step }
}

function describeCall(call: OverlayCall): string {
  return `fsopen/fsconfig/fsmount overlay -o ${call.options} (in ${JSON.stringify(call.dir)})`
}

/**
 * Unmounts `target` (lazily when asked) and answers as umount(8) would:
 * "not mounted" and "target is busy" in stderr, so retry logic reads both
 * paths alike.
 */
export async function umountCall(target: string, lazy = false): Promise<CallResult> {
  const lib = loadLibc()
  const command = `umount ${lazy ? '--lazy ' : ''}${JSON.stringify(target)}`
  if (!lib) {
    const args = lazy ? ['--lazy', target] : [target]
    const result = await execa('umount', args, { reject: false, stdin: 'ignore' })
    return { exitCode: result.exitCode ?? 1, stderr: result.stderr, command }
  }
  return umountResult(lib, target, lazy, command)
}

/** The same, blocking: for an 'exit' handler or a signal, where nothing async runs. */
export function umountSync(target: string, lazy = false): CallResult {
  const lib = loadLibc()
  const command = `umount ${lazy ? '--lazy ' : ''}${JSON.stringify(target)}`
  if (!lib) {
    const args = lazy ? ['--lazy', target] : [target]
    const result = spawnSync('umount', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    return { exitCode: result.status ?? 1, stderr: String(result.stderr ?? ''), command }
  }
  return umountResult(lib, target, lazy, command)
}

function umountResult(lib: Libc, target: string, lazy: boolean, command: string): CallResult {
  if (lib.umount2(target, lazy ? MNT_DETACH : 0) === 0) return { exitCode: 0, stderr: '', command }
  const errno = lib.errno()
  const stderr =
    errno === os.errno.EINVAL || errno === os.errno.ENOENT
      ? `umount: ${target}: not mounted`
      : errno === os.errno.EBUSY
        ? `umount: ${target}: target is busy`
        : `umount: ${target}: ${errnoMessage(errno)}`
  return { exitCode: 32, stderr, command }
}

function errnoName(errno: number): string {
  const entry = Object.entries(os.errno).find(([, value]) => value === errno)
  return entry?.[0] ?? `errno ${errno}`
}

const MESSAGES: Record<string, string> = {
  EPERM: 'Operation not permitted',
  EACCES: 'Permission denied',
  ENOENT: 'No such file or directory',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  ENODEV: 'No such device (wrong fs type or unknown filesystem)',
  ELOOP: 'Too many levels of symbolic links',
}

function errnoMessage(errno: number): string {
  const name = errnoName(errno)
  return `${name} (${MESSAGES[name] ?? 'system error'})`
}
