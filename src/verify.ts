import { accessSync, constants, lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { debug } from './debug.js'
import { ScratchfsError, show } from './errors.js'

const log = debug('verify')

/**
 * Set by the process that verifies a whole run (the config plugin, in the
 * main process) to its pid: workers then leave the goldens to it, so each
 * golden is walked once per run, not once per worker or view.
 */
export const VERIFIER_ENV = 'SCRATCHFS_VERIFIER'

/** How many hazards or changed paths a message lists before it counts the rest. */
const SHOWN = 20

/** One walk of a golden: a signature per entry, and what could escape a view. */
export interface GoldenScan {
  root: string
  entries: Map<string, string>
  hazards: string[]
}

/**
 * Walks a golden once. Signatures use metadata only (type, mode, owner,
 * size, mtime, ctime, inode, link target): any write bumps ctime, which no
 * one can set back, so reading the bytes would add cost and no certainty.
 */
export function scanGolden(root: string): GoldenScan {
  const scan: GoldenScan = { root, entries: new Map(), hazards: [] }
  const walk = (rel: string): void => {
    const names = readdirSync(join(root, rel)).sort()
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name
      const full = join(root, path)
      const info = lstatSync(full, { bigint: true })
      const mode = Number(info.mode)
      if (info.isDirectory()) {
        // A dir's times and size move with its entries, which are listed themselves.
        scan.entries.set(path, `dir ${mode.toString(8)} ${info.uid}:${info.gid}`)
        walk(path)
        continue
      }
      const link = info.isSymbolicLink() ? readlinkSync(full) : undefined
      const times = `${info.mtimeNs} ${info.ctimeNs}`
      scan.entries.set(
        path,
        `${mode.toString(8)} ${info.uid}:${info.gid} ${info.size} ${times} ${info.ino} ${link ?? ''}`,
      )
      const hazard = hazardOf(root, full, info, link)
      if (hazard) scan.hazards.push(`${path}: ${hazard}`)
    }
  }
  walk('')
  return scan
}

function hazardOf(
  root: string,
  full: string,
  info: ReturnType<typeof lstatSync> & { rdev: bigint },
  link: string | undefined,
): string | undefined {
  if (link !== undefined) {
    const target = resolve(dirname(full), link)
    const inside = target === root || target.startsWith(root + sep)
    if (inside && link.startsWith('/')) {
      return `absolute link to ${show(link)} inside the golden itself: a write through it changes the golden`
    }
    if (!inside && writable(target)) {
      return `link to ${show(link)} leaves the golden for a writable place: a write through it lands there`
    }
    return undefined
  }
  if ((info.isCharacterDevice() && info.rdev !== 0n) || info.isBlockDevice()) {
    return 'device file (nodev blocks it in overlay views, a copy view keeps it usable)'
  }
  if (info.isFile() && (Number(info.mode) & 0o6000) !== 0) {
    return 'setuid/setgid bit (nosuid ignores it in overlay views, a copy view keeps it)'
  }
  return undefined
}

// A link to a missing file is still a hazard when it could be created there.
function writable(target: string): boolean {
  for (let path = target; ; path = dirname(path)) {
    try {
      accessSync(path, constants.W_OK)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false
    }
    if (dirname(path) === path) return false
  }
}

/** Entries added, deleted or modified between two scans of one golden, sorted. */
export function compareScans(before: GoldenScan, after: GoldenScan): string[] {
  const changed: string[] = []
  for (const [path, signature] of before.entries) {
    const now = after.entries.get(path)
    if (now === undefined) changed.push(`deleted ${path}`)
    else if (now !== signature) changed.push(`modified ${path}`)
  }
  for (const path of after.entries.keys()) {
    if (!before.entries.has(path)) changed.push(`added ${path}`)
  }
  return changed.sort((a, b) => pathOf(a).localeCompare(pathOf(b)))
}

const pathOf = (line: string) => line.slice(line.indexOf(' ') + 1)

/** Warns once about what in a golden could let a test write outside its view. */
export function warnHazards(scan: GoldenScan): void {
  if (scan.hazards.length === 0) return
  process.emitWarning(
    `golden ${show(scan.root)} holds what lets a test write outside its view:\n${list(scan.hazards)}`,
    {
      code: 'SCRATCHFS_GOLDEN_HAZARD',
      detail: 'Make links relative and inside the golden, and remove device files and setuid bits.',
    },
  )
}

/** The error a changed golden fails a run with. */
export function goldenChangedError(root: string, changed: readonly string[]): ScratchfsError {
  return new ScratchfsError(
    'EVERIFY',
    `golden ${show(root)} changed during the run (${changed.length} paths):\n${list(changed)}`,
    {
      path: root,
      fix: 'find what wrote there (a test writing by absolute path, a link out of a view, a build step) and keep the golden read-only during runs',
    },
  )
}

function list(lines: readonly string[]): string {
  const shown = lines.slice(0, SHOWN).map((line) => `  - ${line}`)
  if (lines.length > SHOWN) shown.push(`  - ... and ${lines.length - SHOWN} more`)
  return shown.join('\n')
}

/** Fingerprints taken for a run, compared when it ends. */
export class GoldenGuard {
  readonly #scans = new Map<string, GoldenScan>()

  /** Scans each golden not yet seen (warning about hazards once); returns the new ones. */
  watch(roots: readonly string[]): string[] {
    const fresh = roots.filter((root) => !this.#scans.has(root))
    for (const root of fresh) {
      const scan = scanGolden(root)
      log('fingerprinted %s: %d entries, %d hazards', root, scan.entries.size, scan.hazards.length)
      this.#scans.set(root, scan)
      warnHazards(scan)
    }
    return fresh
  }

  /** Every golden that changed since it was watched, as errors naming the paths. */
  check(): ScratchfsError[] {
    const errors: ScratchfsError[] = []
    for (const [root, before] of this.#scans) {
      const changed = compareScans(before, scanGolden(root))
      if (changed.length > 0) errors.push(goldenChangedError(root, changed))
    }
    return errors
  }
}

let processGuard: GoldenGuard | undefined

/**
 * `verify: true` without a run-wide verifier: this process fingerprints each
 * golden the first time a view uses it and checks them all when it exits,
 * failing the exit code when one changed.
 */
export async function verifyGoldens(roots: readonly string[]): Promise<void> {
  const verifier = process.env[VERIFIER_ENV]
  if (verifier && verifier !== String(process.pid)) return
  if (!processGuard) {
    processGuard = new GoldenGuard()
    const guard = processGuard
    process.once('exit', () => {
      const errors = guard.check()
      for (const error of errors) process.stderr.write(`scratchfs: ${error.message}\n`)
      if (errors.length > 0 && !process.exitCode) process.exitCode = 1
    })
  }
  processGuard.watch(roots)
}
