import { chmod, chown, lstat, mkdir, readdir, utimes } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename, join } from 'node:path'
import { execa, type Options } from 'execa'
import fse from 'fs-extra'
import { diffView, mergedDirs } from '../changes.js'
import { ScratchfsError, show } from '../errors.js'
import { unmountAll } from '../mount/unmount.js'
import type { Backend, View } from './types.js'

/** A full copy per view: works everywhere, costs time in the tree's size. */
export const copy: Backend = {
  name: 'copy',

  async create(view, signal) {
    await mkdir(view.merged)
    const [top, ...lower] = view.layers
    if (top === undefined) return
    if (lower.length === 0) await copyTree(top, view.merged, signal)
    else await copyMerged(view.layers, view.merged, signal)
  },

  // Nothing of its own is mounted, but a test may have mounted something
  // on it or in it: deleting the view must not reach through that mount.
  destroy: (view) => unmountAll(view.merged),

  changes: (view: View) => diffView({ merged: view.merged, layers: view.layers }),
}

/**
 * Copies several layers as overlayfs would show them merged. Copying each
 * layer over the last is not the same (and cp refuses to put a file over a
 * directory): a file or link hides every layer below it, and a directory
 * above a non-directory stops the merge there. Only directories present in
 * more than one layer are walked; everything else is copied whole.
 */
async function copyMerged(
  dirs: readonly string[],
  to: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted()
  const names = new Set<string>()
  for (const dir of dirs) for (const name of await readdir(dir)) names.add(name)

  const whole: string[] = []
  for (const name of names) {
    const merged = await mergedDirs(dirs, name)
    if (merged.length > 1) {
      await mkdir(join(to, name))
      await copyMerged(merged, join(to, name), signal)
    } else {
      const top = await firstWith(dirs, name)
      if (top) whole.push(top)
    }
  }
  await copyInto(whole, to, signal)
  await copyAttributes(dirs[0], to)
}

async function firstWith(dirs: readonly string[], name: string): Promise<string | undefined> {
  for (const dir of dirs) {
    const path = join(dir, name)
    if (await lstat(path).catch(() => undefined)) return path
  }
  return undefined
}

// A merged directory takes its mode, owner and times from its top layer, as
// on overlayfs; times last, since filling the directory changes its mtime.
async function copyAttributes(from: string | undefined, to: string): Promise<void> {
  if (from === undefined) return
  const stats = await lstat(from)
  await chmod(to, stats.mode & 0o7777)
  if (process.getuid?.() === 0) await chown(to, stats.uid, stats.gid)
  await utimes(to, stats.atime, stats.mtime)
}

/**
 * GNU cp copies several times faster than a copy driven from JavaScript,
 * keeps link targets verbatim, modes, owners and times, and clones blocks
 * where the filesystem can. One cp uses one core; the tree is split among
 * a cp per core. Elsewhere (macOS) fs-extra copies, links as they are.
 */
async function copyTree(from: string, to: string, signal: AbortSignal | undefined): Promise<void> {
  if (process.platform !== 'linux') {
    await fse.copy(from, to, { dereference: false, preserveTimestamps: true, errorOnExist: false })
    signal?.throwIfAborted()
    return
  }
  const split = COPY_PROCESSES > 1 ? await splitTree(from) : undefined
  signal?.throwIfAborted()
  if (!split) {
    const result = await cp(['-a', '--reflink=auto', '--', `${from}/.`, to], {}, signal)
    if (result.exitCode !== 0) throw copyTreeFailed(from, to, result)
    return
  }

  // The dirs the split went into are made here, so the cps fill them side
  // by side; their modes and times are set once everything is in them.
  for (const dir of split.dirs) await mkdir(join(to, dir))
  const shares = Array.from({ length: COPY_PROCESSES }, (_, index) =>
    split.parts.filter((_, at) => at % COPY_PROCESSES === index),
  )
  // Settled, not all: an abort rejects every cp, and the view may only be
  // removed once the last of them has exited.
  const settled = await Promise.allSettled(
    shares
      .filter((share) => share.length > 0)
      .map((share) =>
        cp(['-a', '--reflink=auto', '--parents', '-t', to, '--', ...share], { cwd: from }, signal),
      ),
  )
  const results = settled.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason
    return outcome.value
  })
  const failed = results.find((result) => result.exitCode !== 0)
  if (failed) throw copyTreeFailed(from, to, failed)
  await Promise.all(split.dirs.map((dir) => copyAttributes(join(from, dir), join(to, dir))))
  await copyAttributes(from, to)
}

/**
 * Runs one cp. An aborted signal kills it and rejects with the signal's
 * reason once it has exited, so nothing writes into the view any more when
 * the caller removes it. (A process that exits meanwhile kills it in its
 * exit path: it names the view dir in its arguments.)
 */
async function cp(
  args: readonly string[],
  options: Pick<Options, 'cwd'>,
  signal: AbortSignal | undefined,
): Promise<{ exitCode?: number; stderr: string }> {
  signal?.throwIfAborted()
  const subprocess = execa('cp', args, {
    ...options,
    reject: false,
    stdin: 'ignore',
    ...(signal && { cancelSignal: signal }),
  })
  const result = await subprocess
  signal?.throwIfAborted()
  return result
}

/** How many cp processes share one copy: one per core, up to four. */
const COPY_PROCESSES = Math.min(availableParallelism(), 4)

/** Enough parts for the cps to come out even, without a long argument list. */
const SPLIT_PARTS = 64
const SPLIT_DEPTH = 4
const SPLIT_MAX_BYTES = 256 * 1024

/**
 * Splits a tree into parts (relative paths) for the cps to share: dirs are
 * opened level by level until there are SPLIT_PARTS parts. Undefined for a
 * tree too small to split. Symlinks are parts, never opened.
 */
async function splitTree(from: string): Promise<{ parts: string[]; dirs: string[] } | undefined> {
  let parts = (await readdir(from)).sort()
  const dirs: string[] = []
  for (let depth = 0; depth < SPLIT_DEPTH && parts.length < SPLIT_PARTS; depth++) {
    const next: string[] = []
    let opened = false
    for (const part of parts) {
      const info = await lstat(join(from, part))
      if (!info.isDirectory()) {
        next.push(part)
        continue
      }
      const inside = await readdir(join(from, part))
      if (inside.length === 0) {
        next.push(part)
        continue
      }
      dirs.push(part)
      opened = true
      for (const name of inside.sort()) next.push(join(part, name))
    }
    parts = next
    if (!opened) break
  }
  // Past this the argument list nears the kernel's limit: one cp takes it all.
  const bytes = parts.reduce((sum, part) => sum + Buffer.byteLength(part) + 1, 0)
  if (bytes > SPLIT_MAX_BYTES) return undefined
  return parts.length >= COPY_PROCESSES * 2 ? { parts, dirs } : undefined
}

function copyTreeFailed(from: string, to: string, result: { stderr: string }): ScratchfsError {
  return new ScratchfsError(
    'EBACKEND',
    `copying golden ${show(from)} to ${show(to)} failed: ${result.stderr.trim()}`,
    {
      path: from,
      fix: 'check that the golden is readable and the scratch root has room',
      cause: result,
    },
  )
}

/** Copies entries into a directory under their own names, in one cp where there is GNU cp. */
async function copyInto(
  sources: readonly string[],
  dir: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (sources.length === 0) return
  if (process.platform !== 'linux') {
    for (const source of sources) await copyTree(source, join(dir, basename(source)), signal)
    return
  }
  // Batches keep the argument list well under ARG_MAX.
  for (let start = 0; start < sources.length; start += 1000) {
    const batch = sources.slice(start, start + 1000)
    const result = await cp(['-a', '--reflink=auto', '-t', dir, '--', ...batch], {}, signal)
    if (result.exitCode !== 0) throw copyFailed(dir, result)
  }
}

function copyFailed(dir: string, result: { stderr: string }): ScratchfsError {
  return new ScratchfsError(
    'EBACKEND',
    `copying golden layers into ${show(dir)} failed: ${result.stderr.trim()}`,
    {
      path: dir,
      fix: 'check that the golden is readable and the scratch root has room',
      cause: result,
    },
  )
}
