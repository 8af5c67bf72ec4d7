import { createHash } from 'node:crypto'
import { chmod, chown, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { execa } from 'execa'
import { isRoot } from '../helpers.js'

/** The plain user the rootless scenarios run as; CI creates it too. */
export const PLAIN_USER = process.env.SCRATCHFS_TEST_USER ?? 'sfsuser'

export const REPO = resolve(import.meta.dirname, '../..')

/** In CI nothing may be skipped: a missing environment is a failure there. */
export const inCI = process.env.CI === 'true'

/**
 * Why the scenarios cannot run as a plain user here, or undefined when they
 * can: becoming another user takes root.
 */
export function plainUserUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'Linux only'
  if (!isRoot) return 'needs root to create and become a plain user (runs in CI)'
  return undefined
}

let ready: Promise<{ uid: number; gid: number; build: string }> | undefined

/**
 * Makes sure the plain user exists and that it can read a build of this
 * repo: the repo itself when it is readable to others, else a copy of
 * package.json, dist and node_modules (the golden tests never get write access).
 */
export function plainUser(): Promise<{ uid: number; gid: number; build: string }> {
  ready ??= (async () => {
    const known = await execa('id', ['-u', PLAIN_USER], { reject: false })
    if (known.exitCode !== 0) await execa('useradd', ['--create-home', PLAIN_USER])
    const uid = Number((await execa('id', ['-u', PLAIN_USER])).stdout)
    const gid = Number((await execa('id', ['-g', PLAIN_USER])).stdout)
    return { uid, gid, build: await readableBuild() }
  })()
  return ready
}

async function readableBuild(): Promise<string> {
  const probe = await execa(
    'runuser',
    ['-u', PLAIN_USER, '--', 'test', '-r', join(REPO, 'dist/cli/main.js')],
    { reject: false },
  )
  if (probe.exitCode === 0) return REPO

  // Keyed by the build's time: a stale copy is never used, a fresh one is shared.
  const stamp = String((await stat(join(REPO, 'dist/index.js'))).mtimeMs)
  const key = createHash('sha1').update(`${REPO}\0${stamp}`).digest('hex').slice(0, 12)
  const target = join(tmpdir(), `sfs-rootless-build-${key}`)
  if (await stat(join(target, 'dist')).catch(() => undefined)) return target

  const aside = await mkdtemp(join(tmpdir(), 'sfs-rootless-build-'))
  await execa('cp', ['-a', '--reflink=auto', 'package.json', 'dist', 'node_modules', aside], {
    cwd: REPO,
  })
  await execa('chmod', ['-R', 'a+rX', aside])
  await chmod(aside, 0o755)
  await writeFile(join(aside, 'STAMP'), stamp)
  await rename(aside, target).catch(() => rm(aside, { recursive: true, force: true }))
  return target
}

/**
 * Runs a command as the plain user (call plainUser() first), with HOME and
 * USER of its own. Returns execa's subprocess: its pid and stdout are live.
 */
export function asPlainUser(command: string[], options: { env?: Record<string, string> } = {}) {
  const env = Object.entries({
    HOME: `/home/${PLAIN_USER}`,
    USER: PLAIN_USER,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.CI ? { CI: process.env.CI } : {}),
    ...options.env,
  }).map(([key, value]) => `${key}=${value}`)
  return execa('runuser', ['-u', PLAIN_USER, '--', 'env', '-i', ...env, ...command], {
    reject: false,
    stdin: 'ignore',
    cwd: tmpdir(),
  })
}

/** The scratchfs CLI of the build the plain user can read. */
export async function cli(): Promise<string> {
  return join((await plainUser()).build, 'dist/cli/main.js')
}

/** A copy of a file the plain user owns and can read, in a dir of theirs. */
export async function userCopy(from: string, dir: string): Promise<string> {
  const { uid, gid } = await plainUser()
  const path = join(dir, basename(from))
  await writeFile(path, await readFile(from))
  await chown(path, uid, gid)
  return path
}
