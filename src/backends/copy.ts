import { chmod, chown, lstat, mkdir, readdir, utimes } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { execa } from 'execa'
import fse from 'fs-extra'
import { diffView, mergedDirs } from '../changes.js'
import { ScratchfsError, show } from '../errors.js'
import type { Backend, View } from './types.js'

/** A full copy per view: works everywhere, costs time in the tree's size. */
export const copy: Backend = {
  name: 'copy',

  async create(view) {
    await mkdir(view.merged)
    const [top, ...lower] = view.layers
    if (top === undefined) return
    if (lower.length === 0) await copyTree(top, view.merged)
    else await copyMerged(view.layers, view.merged)
  },

  destroy: async () => ({ retries: 0 }),

  changes: (view: View) => diffView({ merged: view.merged, layers: view.layers }),
}

/**
 * Copies several layers as overlayfs would show them merged. Copying each
 * layer over the last is not the same (and cp refuses to put a file over a
 * directory): a file or link hides every layer below it, and a directory
 * above a non-directory stops the merge there. Only directories present in
 * more than one layer are walked; everything else is copied whole.
 */
async function copyMerged(dirs: readonly string[], to: string): Promise<void> {
  const names = new Set<string>()
  for (const dir of dirs) for (const name of await readdir(dir)) names.add(name)

  const whole: string[] = []
  for (const name of names) {
    const merged = await mergedDirs(dirs, name)
    if (merged.length > 1) {
      await mkdir(join(to, name))
      await copyMerged(merged, join(to, name))
    } else {
      const top = await firstWith(dirs, name)
      if (top) whole.push(top)
    }
  }
  await copyInto(whole, to)
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
 * where the filesystem can. Elsewhere (macOS) fs-extra copies, links as
 * they are.
 */
async function copyTree(from: string, to: string): Promise<void> {
  if (process.platform === 'linux') {
    const result = await execa('cp', ['-a', '--reflink=auto', '--', `${from}/.`, to], {
      reject: false,
      stdin: 'ignore',
    })
    if (result.exitCode === 0) return
    throw new ScratchfsError(
      'EBACKEND',
      `copying golden ${show(from)} to ${show(to)} failed: ${result.stderr.trim()}`,
      {
        path: from,
        fix: 'check that the golden is readable and the scratch root has room',
        cause: result,
      },
    )
  }
  await fse.copy(from, to, { dereference: false, preserveTimestamps: true, errorOnExist: false })
}

/** Copies entries into a directory under their own names, in one cp where there is GNU cp. */
async function copyInto(sources: readonly string[], dir: string): Promise<void> {
  if (sources.length === 0) return
  if (process.platform !== 'linux') {
    for (const source of sources) await copyTree(source, join(dir, basename(source)))
    return
  }
  // Batches keep the argument list well under ARG_MAX.
  for (let start = 0; start < sources.length; start += 1000) {
    const batch = sources.slice(start, start + 1000)
    const result = await execa('cp', ['-a', '--reflink=auto', '-t', dir, '--', ...batch], {
      reject: false,
      stdin: 'ignore',
    })
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
