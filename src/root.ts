import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { chmod, lstat, mkdir, readFile, realpath, stat, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, sep } from 'node:path'
import { type Base, fromBase } from './base.js'
import { errnoOf, ScratchfsError, show } from './errors.js'
import type { GoldenLayer } from './golden.js'
import { currentOwner, type Owner, realUid } from './proc.js'
import { spreadViews } from './spread.js'

/** Every directory scratchfs makes starts with this, so mountinfo finds them. */
export const PREFIX = 'scratchfs-'

/**
 * Names of view dirs no test has: one mounted ahead of time (`READY`) and
 * one unmounted and waiting to be deleted (`GONE`). A label never makes
 * them, as safeName never starts with a dash.
 */
export const READY = `${PREFIX}-ready-`
export const GONE = `${PREFIX}-gone-`

/** The file in each view dir that says who made it. */
export const RECORD = 'owner.json'

/**
 * The default root: one per real user under the OS temp dir, so it does not
 * depend on the current directory and other users cannot plant files in it.
 */
export function defaultRoot(): string {
  return join(tmpdir(), `${PREFIX}${realUid()}`)
}

/** Where prepareRoot is called from, for errors that say what to change there. */
export interface RootContext {
  /** Where relative paths start. */
  base?: Base
  /**
   * How the caller takes a root: 'the root option' (the API), '--root DIR'
   * (the CLI), the plugin's option in vitest.config.
   * @default 'the root option'
   */
  flag?: string
  /** Make the root when it is not there; when false, that is an error. @default true */
  create?: boolean
}

/**
 * Makes sure the root exists, belongs to this user and is not a symlink
 * someone planted in a shared temp dir, and returns its realpath.
 */
export async function prepareRoot(
  root: string | undefined,
  layers: readonly GoldenLayer[] = [],
  context: RootContext = {},
): Promise<string> {
  const own = root === undefined
  const path = fromBase(root ?? defaultRoot(), context.base)
  const fix = (what: string) => rootFix(what, context, own)
  if (root === '') {
    // It would resolve to the current directory, whatever that is.
    throw new ScratchfsError('EROOT', 'scratch root is an empty path', {
      path: '',
      fix: fix('a directory'),
    })
  }
  checkRoom(path, fix)
  await checkFilesystem(path, fix)
  // Refused before mkdir: making a root inside the golden would change it.
  checkApart(await realpathToBe(path), layers, fix)
  if (context.create === false && !existsSync(path)) {
    throw new ScratchfsError('EROOT', `scratch root ${show(path)} does not exist`, {
      path,
      fix: fix('the directory your runs use'),
    })
  }
  let made: string | undefined
  try {
    made = await mkdir(path, { recursive: true, mode: 0o700 })
  } catch (error) {
    const why =
      errnoOf(error) === 'EEXIST'
        ? 'is a file, not a directory'
        : `cannot be created (${errnoOf(error)})`
    throw new ScratchfsError('EROOT', `scratch root ${show(path)} ${why}`, {
      path,
      fix: fix('a writable directory'),
      cause: error,
    })
  }

  const info = await lstat(path)
  if (own && (info.isSymbolicLink() || !info.isDirectory())) {
    throw new ScratchfsError(
      'EROOT',
      `scratch root ${show(path)} is a symlink or a file, not the directory scratchfs made`,
      { path, fix: `remove it (someone else may have planted it), or ${fix('another root')}` },
    )
  }
  const uid = process.getuid?.()
  if (own && uid === info.uid && (info.mode & 0o777) !== 0o700) {
    // Made by an older version or a umask: views of this user stay private.
    await chmod(path, 0o700)
  }
  const real = await realpath(path)
  // A root given as a link is used as the dir it names: that dir's owner
  // could rename or swap the views in it.
  const link = info.isSymbolicLink()
  const owner = link ? (await stat(real)).uid : info.uid
  if (uid !== undefined && owner !== uid) {
    const named = link ? `, the dir it links to, ${show(real)},` : ''
    throw new ScratchfsError(
      'EROOT',
      `scratch root ${show(path)}${named} belongs to uid ${owner}, not to uid ${uid}`,
      { path, fix: `remove it, or ${fix('a root that belongs to you')}` },
    )
  }
  checkRoom(real, fix)
  if (own && made !== undefined) await spreadViews(real)
  return real
}

function apiFix(what: string): string {
  return `pass ${what} with the root option`
}

// The default root lives in TMPDIR: a bad one is fixed there, not by
// passing a root everywhere.
function rootFix(what: string, context: RootContext, own: boolean): string {
  const pass = context.flag ? `pass ${what} with ${context.flag}` : apiFix(what)
  return own ? `set TMPDIR to ${what} (the default root is made in it), or ${pass}` : pass
}

/**
 * Kernel filesystems that hold no files: a root there cannot work, and
 * making it can hang (Node's recursive mkdir spins forever below /proc)
 * or create a kernel object (a mkdir in a cgroup fs makes a cgroup).
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
])

// Asked of the nearest ancestor that exists: the root itself may not yet.
async function checkFilesystem(path: string, fix: (what: string) => string): Promise<void> {
  if (process.platform !== 'linux') return
  for (let at = path; ; at = dirname(at)) {
    const info = await statfs(at).catch(() => undefined)
    if (info) {
      const kind = PSEUDO_FILESYSTEMS.get(info.type)
      if (kind === undefined) return
      throw new ScratchfsError(
        'EROOT',
        `scratch root ${show(path)} is on ${kind} (at ${show(at)}), a kernel filesystem that holds no files`,
        { path, fix: fix('a directory on a disk or a tmpfs') },
      )
    }
    if (dirname(at) === at) return
  }
}

const prepared = new Map<string, string>()

/**
 * prepareRoot once per process and root: a root does not move during a
 * run. The caller checks it against the golden for every view (a pure
 * comparison), and forgets it when making a view in it fails.
 */
export async function prepareRootOnce(
  root: string | undefined,
  layers: readonly GoldenLayer[] = [],
  base?: Base,
): Promise<string> {
  const key = fromBase(root ?? defaultRoot(), base)
  const known = prepared.get(key)
  if (known !== undefined) return known
  const real = await prepareRoot(root, layers, { base })
  // A suite may use a root per test: keep the last few, not every one.
  if (prepared.size >= 64) prepared.delete(prepared.keys().next().value ?? '')
  prepared.set(key, real)
  return real
}

/** Forgets the prepared roots: the next view checks its root again. */
export function forgetRoots(): void {
  prepared.clear()
}

/**
 * Room a view needs below the root: its dir name (prefix, label, mkdtemp's
 * six characters), `/merged` or `/upper`, and one full-length file name.
 */
export const VIEW_PATH_ROOM = 320

/** Longest path the kernel resolves (PATH_MAX, with its terminating NUL). */
const PATH_MAX = 4095

// Past this, mkdtemp or the mount fails deep inside with a bare
// ENAMETOOLONG; say it up front instead.
function checkRoom(path: string, fix: (what: string) => string): void {
  const bytes = Buffer.byteLength(path)
  if (bytes + VIEW_PATH_ROOM <= PATH_MAX) return
  throw new ScratchfsError(
    'EROOT',
    `scratch root ${show(path)} is ${bytes} bytes long; views below it need ${VIEW_PATH_ROOM} more and the kernel resolves at most ${PATH_MAX}`,
    { path, fix: fix(`a root of at most ${PATH_MAX - VIEW_PATH_ROOM} bytes`) },
  )
}

/**
 * The realpath a path will have once it is created: the realpath of its
 * nearest existing ancestor, symlinks and all, with the rest appended.
 */
export async function realpathToBe(path: string): Promise<string> {
  const rest: string[] = []
  for (let at = path; ; at = dirname(at)) {
    const real = await realpath(at).catch(() => undefined)
    if (real !== undefined) return join(real, ...rest.reverse())
    if (dirname(at) === at) return path
    rest.push(basename(at))
  }
}

/** Refuses a root inside a golden layer and a golden layer inside the root. */
export function checkApart(
  root: string,
  layers: readonly GoldenLayer[],
  fix: (what: string) => string = apiFix,
): void {
  for (const layer of layers) {
    if (isWithin(root, layer.path)) {
      throw new ScratchfsError(
        'EROOT',
        `scratch root ${show(root)} is inside golden ${show(layer.path)}`,
        {
          path: root,
          fix: `${fix('a root outside the golden tree')}: writes there would change the golden`,
        },
      )
    }
    if (isWithin(layer.path, root)) {
      throw new ScratchfsError(
        'EROOT',
        `golden ${show(layer.path)} is inside scratch root ${show(root)}`,
        {
          path: layer.path,
          fix: 'keep golden trees out of the scratch root: clean removes what is there',
        },
      )
    }
  }
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep)
}

/** What a view's record file holds. */
export interface ViewRecord {
  owner: Owner
  /** The process whose run the view belongs to: kept views outlive its workers. */
  run: Owner
  backend: string
  label: string
  created: number
  kept?: string
  /** Unmounted lazily while still in use: the sweeper deletes it later. */
  detached?: boolean
  /** Who held it when it was detached: it is deleted once they are all gone. */
  holders?: Owner[]
}

/**
 * Makes a fresh private view dir (mkdtemp, 0700) with its record. Blocking
 * on purpose: two small syscalls cost less than two trips through libuv's
 * thread pool. The record is written once, in place: nobody else can write
 * into a dir mkdtemp just made 0700, `wx` refuses anything already there,
 * and a sweeper reading it half-written treats the dir as half-made.
 */
export async function makeViewDir(
  root: string,
  label: string,
  record: Omit<ViewRecord, 'owner' | 'created'>,
): Promise<string> {
  return makeViewDirSync(root, `${PREFIX}${safeName(label)}-`, record)
}

/** The same, named `stem` + six random characters, for callers that track it at once. */
export function makeViewDirSync(
  root: string,
  stem: string,
  record: Omit<ViewRecord, 'owner' | 'created'>,
): string {
  const dir = mkdtempSync(join(root, stem))
  const full: ViewRecord = { ...record, owner: ownOwner(), created: Date.now() }
  writeFileSync(join(dir, RECORD), `${JSON.stringify(full)}\n`, { mode: 0o600, flag: 'wx' })
  return dir
}

let self: Owner | undefined

/** This process's pid and start time, read from /proc once (per fork). */
export function ownOwner(): Owner {
  if (self?.pid !== process.pid) self = currentOwner()
  return self
}

// Written aside and renamed over: a sweeper never reads half a record, and a
// symlink planted at the record's name is replaced, not written through.
export async function writeRecord(dir: string, record: ViewRecord): Promise<void> {
  writeRecordSync(dir, record)
}

export function writeRecordSync(dir: string, record: ViewRecord): void {
  const aside = join(dir, `${RECORD}.${process.pid}.${randomBytes(4).toString('hex')}`)
  writeFileSync(aside, `${JSON.stringify(record)}\n`, { mode: 0o600, flag: 'wx' })
  renameSync(aside, join(dir, RECORD))
}

/** A view's record, or nothing when it has none yet or it cannot be read. */
export async function readRecord(dir: string): Promise<ViewRecord | undefined> {
  return parseRecord(await readFile(join(dir, RECORD), 'utf8').catch(() => undefined))
}

export function readRecordSync(dir: string): ViewRecord | undefined {
  try {
    return parseRecord(readFileSync(join(dir, RECORD), 'utf8'))
  } catch {
    return undefined
  }
}

function parseRecord(text: string | undefined): ViewRecord | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as ViewRecord)
  } catch {
    return undefined
  }
}

/** Adds to a view's record; the view must have one. */
export async function updateRecord(dir: string, extra: Partial<ViewRecord>): Promise<void> {
  const current = await readRecord(dir)
  if (!current) throw new Error(`the record of view ${show(dir)} is missing or unreadable`)
  await writeRecord(dir, { ...current, ...extra })
}

/** A label cut down to what reads well in a directory name. */
export function safeName(label: string): string {
  const name = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '')
  return name.slice(0, 40) || 'view'
}
