import type { Stats } from 'node:fs'
import { lstat, open, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'

export type ChangeKind = 'added' | 'modified' | 'deleted'

/** One difference between a view and its golden; `path` is relative, `/`-separated. */
export interface Change {
  kind: ChangeKind
  path: string
}

export interface DiffInput {
  /** The view as the test sees it. */
  merged: string
  /** Golden layers, top first. */
  layers: readonly string[]
  /**
   * The overlay's upper dir. Only what it holds can differ from the golden,
   * so the walk reads it instead of the whole tree; without it every entry
   * of the view is compared (the copy backend).
   */
  upper?: string
}

/**
 * What a view changed. Deletions are found by listing the golden and the
 * view side by side rather than by reading whiteouts and opaque xattrs, so
 * every backend gives the same answer from the same rules.
 */
export async function diffView(input: DiffInput): Promise<Change[]> {
  const changes: Change[] = []
  await diffDir(input, '', input.layers, input.upper, changes)
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * Compares one directory of the view with the golden directories it merges:
 * `golden` holds, top first, the layer dirs at `rel` that overlayfs would
 * merge there.
 */
async function diffDir(
  input: DiffInput,
  rel: string,
  golden: readonly string[],
  upper: string | undefined,
  out: Change[],
): Promise<void> {
  const inView = new Set(await readdir(join(input.merged, rel)))
  for (const name of await namesIn(golden)) {
    if (!inView.has(name)) out.push({ kind: 'deleted', path: rel + name })
  }

  const candidates =
    upper === undefined ? [...inView] : (await readdir(upper)).filter((name) => inView.has(name))
  for (const name of candidates) {
    const path = rel + name
    const mine = await lstat(join(input.merged, path))
    const theirs = await lookup(golden, name)
    if (!theirs) {
      await added(input.merged, path, mine, out)
    } else if (mine.isDirectory() && theirs.stats.isDirectory()) {
      if (modeOf(mine) !== modeOf(theirs.stats)) out.push({ kind: 'modified', path })
      const below = upper === undefined ? undefined : join(upper, name)
      await diffDir(input, `${path}/`, await mergedDirs(golden, name), below, out)
    } else if (mine.isDirectory() || theirs.stats.isDirectory()) {
      // A file became a directory or the other way round: one change at the
      // path, plus what the new directory holds.
      out.push({ kind: 'modified', path })
      if (mine.isDirectory()) await addedChildren(input.merged, path, out)
    } else if (await differs(join(input.merged, path), mine, theirs.path, theirs.stats)) {
      out.push({ kind: 'modified', path })
    }
  }
}

/** An added directory shows as the files and empty directories inside it. */
async function added(merged: string, path: string, stats: Stats, out: Change[]): Promise<void> {
  if (!stats.isDirectory()) {
    out.push({ kind: 'added', path })
    return
  }
  const count = await addedChildren(merged, path, out)
  if (count === 0) out.push({ kind: 'added', path })
}

async function addedChildren(merged: string, path: string, out: Change[]): Promise<number> {
  const names = await readdir(join(merged, path))
  for (const name of names) {
    const child = `${path}/${name}`
    await added(merged, child, await lstat(join(merged, child)), out)
  }
  return names.length
}

/** The names a golden directory shows once its layers are merged. */
async function namesIn(dirs: readonly string[]): Promise<Set<string>> {
  const names = new Set<string>()
  for (const dir of dirs) for (const name of await readdir(dir)) names.add(name)
  return names
}

/** The entry the view shows for `name`: the topmost layer that has it. */
async function lookup(
  dirs: readonly string[],
  name: string,
): Promise<{ path: string; stats: Stats } | undefined> {
  for (const dir of dirs) {
    const path = join(dir, name)
    const stats = await lstat(path).catch(() => undefined)
    if (stats) return { path, stats }
  }
  return undefined
}

/**
 * The layer dirs that merge into the directory `name`, by overlayfs's rule:
 * a layer without it is skipped, and the first layer where it is not a
 * directory (a file, or a symlink even to a dir) hides every layer below.
 */
export async function mergedDirs(dirs: readonly string[], name: string): Promise<string[]> {
  const merged: string[] = []
  for (const dir of dirs) {
    const path = join(dir, name)
    const stats = await lstat(path).catch(() => undefined)
    if (!stats) continue
    if (!stats.isDirectory()) break
    merged.push(path)
  }
  return merged
}

function modeOf(stats: Stats): number {
  return stats.mode & 0o7777
}

/** Content, mode or link target: what "modified" means. */
async function differs(
  mine: string,
  mineStats: Stats,
  theirs: string,
  theirStats: Stats,
): Promise<boolean> {
  if ((mineStats.mode & 0o170000) !== (theirStats.mode & 0o170000)) return true
  if (modeOf(mineStats) !== modeOf(theirStats)) return true
  if (mineStats.isSymbolicLink()) {
    const [a, b] = await Promise.all([readlink(mine, 'buffer'), readlink(theirs, 'buffer')])
    return !a.equals(b)
  }
  if (!mineStats.isFile()) return mineStats.rdev !== theirStats.rdev
  if (mineStats.size !== theirStats.size) return true
  return !(await sameBytes(mine, theirs))
}

const CHUNK = 1 << 16

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')])
  try {
    const bufA = Buffer.alloc(CHUNK)
    const bufB = Buffer.alloc(CHUNK)
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(bufA, 0, CHUNK), fb.read(bufB, 0, CHUNK)])
      if (ra.bytesRead !== rb.bytesRead) return false
      if (ra.bytesRead === 0) return true
      if (!bufA.subarray(0, ra.bytesRead).equals(bufB.subarray(0, rb.bytesRead))) return false
    }
  } finally {
    await Promise.all([fa.close(), fb.close()])
  }
}
