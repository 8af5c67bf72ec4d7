import { constants, realpathSync } from 'node:fs'
import { access, lstat, readlink, realpath, stat } from 'node:fs/promises'
import { sep } from 'node:path'
import { type Base, fromBase, showGiven } from './base.js'
import { errnoOf, ScratchfsError, show } from './errors.js'

/** A golden layer as scratchfs uses it: canonical, a readable directory. */
export interface GoldenLayer {
  /** The path the user gave. */
  given: string
  /** The same, absolute: from the base when it was relative. */
  absolute: string
  /** Its realpath. */
  path: string
  /** How messages name it: the given path, and what it resolved to. */
  shown: string
}

/** Longest path the kernel resolves (PATH_MAX, with its terminating NUL). */
export const PATH_MAX = 4095

/**
 * Resolves the golden layers (top first) and checks each one before anything
 * is mounted, so a bad golden fails with its own path rather than a mount
 * error about an alias.
 */
export async function resolveGolden(
  golden: string | readonly string[],
  base?: Base,
): Promise<GoldenLayer[]> {
  const given = typeof golden === 'string' ? [golden] : [...golden]
  const layers = await Promise.all(given.map((layer) => resolveLayer(layer, base)))
  checkDisjoint(layers)
  return layers
}

const resolved = new Map<string, GoldenLayer[]>()

/**
 * resolveGolden once per process and set of paths: the golden must not
 * change during a run, so the checks need not run for every view. A layer
 * that no longer resolves to the same realpath (deleted, or a symlink
 * pointed elsewhere) goes through the full checks again, for their error.
 */
export async function resolveGoldenOnce(
  golden: string | readonly string[],
  base?: Base,
): Promise<GoldenLayer[]> {
  const given = typeof golden === 'string' ? [golden] : [...golden]
  const key = given.map((layer) => fromBase(layer, base)).join('\0')
  const known = resolved.get(key)
  if (known?.every(stillResolves)) return known

  resolved.delete(key)
  const layers = await resolveGolden(given, base)
  // A suite may make a golden per test: keep the last few, not every one.
  if (resolved.size >= 64) resolved.delete(resolved.keys().next().value ?? '')
  resolved.set(key, layers)
  return layers
}

/** Forgets what resolveGoldenOnce learnt: a view failed, check everything again. */
export function forgetGoldens(): void {
  resolved.clear()
}

// realpath(3) itself, a couple of microseconds: cheap enough for every view.
function stillResolves(layer: GoldenLayer): boolean {
  try {
    return realpathSync.native(layer.absolute) === layer.path
  } catch {
    return false
  }
}

// overlayfs refuses a layer that is, holds or sits inside another with a
// bare ELOOP at mount time; say which two instead, for every backend alike.
function checkDisjoint(layers: readonly GoldenLayer[]): void {
  for (const [index, a] of layers.entries()) {
    for (const b of layers.slice(index + 1)) {
      const nested = a.path === b.path || isInside(a.path, b.path) || isInside(b.path, a.path)
      if (!nested) continue
      const how = a.path === b.path ? 'are the same directory' : 'overlap (one is inside the other)'
      throw new ScratchfsError(
        'EGOLDEN',
        `golden layers ${a.shown} and ${b.shown} ${how}; overlayfs cannot stack a tree on itself`,
        {
          path: b.given,
          fix: 'pass each layer once, as separate directories none of which holds another',
        },
      )
    }
  }
}

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep)
}

async function resolveLayer(given: string, base: Base | undefined): Promise<GoldenLayer> {
  const absolute = fromBase(given, base)
  const shown = showGiven(given, base)
  if (Buffer.byteLength(absolute) > PATH_MAX) {
    throw new ScratchfsError(
      'EGOLDEN',
      `golden ${shown} is ${Buffer.byteLength(absolute)} bytes long; the kernel resolves at most ${PATH_MAX}`,
      { path: given, fix: 'move the golden tree to a shorter path, or symlink it from one' },
    )
  }

  let path: string
  try {
    path = await realpath(absolute)
  } catch (error) {
    throw await missing(given, absolute, shown, error)
  }

  const info = await stat(path)
  if (!info.isDirectory()) {
    throw new ScratchfsError('EGOLDEN', `golden ${shown} is a file, not a directory`, {
      path: given,
      fix: 'pass the directory that holds the fixture tree as golden',
    })
  }

  try {
    await access(path, constants.R_OK | constants.X_OK)
  } catch (error) {
    throw new ScratchfsError(
      'EGOLDEN',
      `golden ${shown} is not readable by uid ${process.getuid?.()} (${errnoOf(error)})`,
      { path: given, fix: `make it readable, e.g. chmod -R u+rX ${show(path)}`, cause: error },
    )
  }
  return { given, absolute, path, shown }
}

async function missing(
  given: string,
  absolute: string,
  shown: string,
  error: unknown,
): Promise<ScratchfsError> {
  const code = errnoOf(error)
  if (code === 'ENAMETOOLONG') {
    return new ScratchfsError('EGOLDEN', `golden ${shown} is longer than the kernel resolves`, {
      path: given,
      fix: 'move the golden tree to a shorter path, or symlink it from one',
      cause: error,
    })
  }
  if (code === 'ENOTDIR') {
    return new ScratchfsError(
      'EGOLDEN',
      `golden ${shown} cannot exist: a path component above it is a file, not a directory`,
      {
        path: given,
        fix: 'check the path for a file name in the middle (a typo, or an archive not unpacked)',
        cause: error,
      },
    )
  }
  if (code === 'EACCES') {
    return new ScratchfsError(
      'EGOLDEN',
      `golden ${shown} cannot be reached: a parent directory is not searchable`,
      {
        path: given,
        fix: 'give the user search (x) permission on every directory above it',
        cause: error,
      },
    )
  }

  const link = await lstat(absolute).catch(() => undefined)
  if (link?.isSymbolicLink()) {
    const target = await readlink(absolute).catch(() => '?')
    return new ScratchfsError(
      'EGOLDEN',
      `golden ${shown} is a symlink to ${show(target)}, which does not exist`,
      {
        path: given,
        fix: 'build the golden tree first, or point golden at the tree itself',
        cause: error,
      },
    )
  }
  return new ScratchfsError('EGOLDEN', `golden ${shown} does not exist (${code})`, {
    path: given,
    fix: 'build the golden tree first, or fix the path',
    cause: error,
  })
}
