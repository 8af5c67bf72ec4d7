import { createHash } from 'node:crypto'
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { onTestFinished } from 'vitest'
import { mountsUnder } from '../src/mount/mountinfo.js'
import { unmountAll } from '../src/mount/unmount.js'
import { settle } from '../src/scratch.js'

/** True when this process may mount (root); suites that need it skip with a reason otherwise. */
export const isRoot = process.getuid?.() === 0

/**
 * A private temp dir for one test, removed when the test ends. Anything the
 * test mounted below it is unmounted first, so a failing test leaks nothing.
 */
export async function tempDir(name = 'test'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sfs-${name.replace(/[^\w.-]+/g, '-')}-`))
  onTestFinished(async () => {
    // A view made ahead of time for a next test may still be on its way.
    await settle()
    await unmountAll(dir)
    await chmodTree(dir)
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

async function chmodTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(
    () => [],
  )) {
    if (entry.isDirectory()) await chmod(join(entry.parentPath, entry.name), 0o700).catch(() => {})
  }
}

/** A tree description: a string is a file, `{ link }` a symlink, `{ mode }` sets a mode, an object a dir. */
export type Tree = {
  [name: string]:
    | string
    | Buffer
    | Tree
    | { link: string }
    | { file: string | Buffer; mode: number }
}

export async function writeTree(dir: string, tree: Tree): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const [name, value] of Object.entries(tree)) {
    const path = join(dir, name)
    await mkdir(dirname(path), { recursive: true })
    if (typeof value === 'string' || Buffer.isBuffer(value)) await writeFile(path, value)
    else if ('link' in value && typeof value.link === 'string') await symlink(value.link, path)
    else if ('file' in value && 'mode' in value) {
      await writeFile(path, value.file as string | Buffer)
      await chmod(path, value.mode as number)
    } else await writeTree(path, value as Tree)
  }
}

/** A private temp dir holding a golden made from `tree` and an empty scratch root. */
export async function goldenAndRoot(
  name: string,
  tree: Tree,
  names: { golden?: string; root?: string } = {},
): Promise<{ base: string; golden: string; root: string }> {
  const base = await tempDir(name)
  const golden = join(base, names.golden ?? 'golden')
  const root = join(base, names.root ?? 'root')
  await writeTree(golden, tree)
  await mkdir(root, { recursive: true })
  return { base, golden, root }
}

/**
 * Every entry of a tree with its type, mode, link target and a hash of its
 * bytes: two equal snapshots mean a byte-identical tree.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name
      const full = join(dir, path)
      const info = await lstat(full)
      const mode = (info.mode & 0o7777).toString(8)
      if (info.isSymbolicLink()) out[path] = `link ${mode} -> ${await readlink(full)}`
      else if (info.isDirectory()) {
        out[path] = `dir ${mode}`
        await walk(path)
      } else {
        const hash = createHash('sha1')
          .update(await readFile(full))
          .digest('hex')
        out[path] = `file ${mode} ${hash}`
      }
    }
  }
  await walk('')
  return out
}

/** Mounts this process can see below a dir (the leak check). */
export async function mountsBelow(dir: string): Promise<string[]> {
  return (await mountsUnder(dir)).map((entry) => entry.target)
}

/** A warning scratchfs emitted, as process.emitWarning received it. */
export interface CapturedWarning {
  code: string | undefined
  message: string
  detail: string | undefined
}

/**
 * Takes the SCRATCHFS_ warnings of the current test instead of letting Node
 * print them: a test that expects a warning asserts on it, and a passing
 * run prints none. Other warnings pass through; emitWarning is restored
 * when the test ends.
 */
export function captureWarnings(): CapturedWarning[] {
  const seen: CapturedWarning[] = []
  const original = process.emitWarning
  const capture = (warning: string | Error, ...rest: unknown[]): void => {
    const options = rest[0]
    const code =
      typeof options === 'object' && options !== null
        ? (options as { code?: string }).code
        : typeof rest[1] === 'string'
          ? rest[1]
          : undefined
    if (!code?.startsWith('SCRATCHFS_')) {
      ;(original as (...args: unknown[]) => void).call(process, warning, ...rest)
      return
    }
    const detail =
      typeof options === 'object' && options !== null
        ? (options as { detail?: string }).detail
        : undefined
    seen.push({ code, message: typeof warning === 'string' ? warning : warning.message, detail })
  }
  process.emitWarning = capture as typeof process.emitWarning
  onTestFinished(() => {
    process.emitWarning = original
  })
  return seen
}
