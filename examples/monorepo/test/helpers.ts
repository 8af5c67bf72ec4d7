import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import type { Change } from 'scratchfs'
import { expect } from 'vitest'
import { cleanEnv, goldenInfo } from '../golden.js'

export const golden = goldenInfo()
export const members = Object.keys(golden.members)
const bin = fileURLToPath(new URL('../tool/bin.js', import.meta.url))

// Every child runs offline: a test that reached for the registry would fail
// here instead of quietly depending on the network.
const env = cleanEnv({
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  GIT_CONFIG_NOSYSTEM: '1',
})

export interface Run {
  stdout: string
  stderr: string
  exitCode: number
}

async function run(command: string, args: string[], cwd: string): Promise<Run> {
  const result = await execa(command, args, {
    cwd,
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  })
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 }
}

/** Runs a command and fails the test, with its output, unless it exits 0. */
async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd)
  if (result.exitCode !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.exitCode}\n${result.stderr}\n${result.stdout}`,
    )
  }
  return result.stdout
}

export const tool = (cwd: string, ...args: string[]) => run(process.execPath, [bin, ...args], cwd)
export const toolOk = (cwd: string, ...args: string[]) => ok(process.execPath, [bin, ...args], cwd)
export async function toolJson<T = unknown>(cwd: string, ...args: string[]): Promise<T> {
  return JSON.parse(await toolOk(cwd, ...args, '--json')) as T
}

export const git = (cwd: string, ...args: string[]) => ok('git', args, cwd)
export const gitRun = (cwd: string, ...args: string[]) => run('git', args, cwd)
export const npm = (cwd: string, ...args: string[]) => run('npm', args, cwd)
export const node = (cwd: string, code: string) => run(process.execPath, ['-e', code], cwd)
export const nodeOk = (cwd: string, code: string) => ok(process.execPath, ['-e', code], cwd)
export const shell = (cwd: string, script: string) => ok('sh', ['-c', script], cwd)

const MARK = 'xmark'

/** A string only this test writes: finding another one means a leak. */
export function marker(): string {
  return `${MARK}-${randomBytes(6).toString('hex')}`
}

/**
 * Every marker found in the view's own files (outside node_modules) and in
 * its whole git history: a test that wrote `mine` must find only `mine`.
 */
export async function markersIn(dir: string): Promise<string[]> {
  const pattern = `${MARK}-[0-9a-f]{12}`
  const files = await run(
    'grep',
    ['-rhoIE', pattern, '--exclude-dir=node_modules', '--exclude-dir=.git', '.'],
    dir,
  )
  const history = await git(dir, 'log', '--all', '--format=%B%n%an')
  const found = new Set(`${files.stdout}\n${history}`.match(new RegExp(pattern, 'g')) ?? [])
  return [...found].sort()
}

export async function expectOnlyMine(dir: string, mine: string): Promise<void> {
  expect(await markersIn(dir)).toEqual([mine])
}

/** The commits on top of the golden's, newest first; fails if the golden's are not all there. */
export async function ownCommits(dir: string): Promise<string[]> {
  const all = (await git(dir, 'rev-list', '--all')).split('\n').filter(Boolean)
  const base = (await git(dir, 'rev-list', golden.head)).split('\n').filter(Boolean)
  expect(base).toHaveLength(golden.commits)
  const mine = all.filter((commit) => !base.includes(commit))
  expect(all.length).toBe(base.length + mine.length)
  return Promise.all(mine.map((commit) => git(dir, 'log', '-1', '--format=%s', commit)))
}

/** The changes outside .git: git's own bookkeeping differs by backend and by git's mood. */
export function worktree(changes: Change[]): Change[] {
  return changes.filter((change) => change.path !== '.git' && !change.path.startsWith('.git/'))
}

export function paths(changes: Change[]): string[] {
  return changes.map((change) => change.path)
}

export function dirOf(name: string): string {
  return `packages/${name.split('/').pop()}`
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

export async function editJson(
  path: string,
  edit: (data: Record<string, unknown>) => void,
): Promise<void> {
  const data = await readJson(path)
  edit(data)
  await writeFile(path, `${JSON.stringify(data, null, 2)}\n`)
}

export const at = (root: string, ...parts: string[]) => join(root, ...parts)
