import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { expect } from 'vitest'
import { PREFIX } from '../../src/root.js'
import { settle } from '../../src/scratch.js'
import { goldenAndRoot, mountsBelow, snapshot, type Tree } from '../helpers.js'

export interface Workspace {
  /** The test's private temp dir; golden and root live below it. */
  base: string
  golden: string
  root: string
}

const workspaces: Workspace[] = []

/**
 * A private temp dir holding a golden made from `tree` and an empty scratch
 * root. `golden` and `root` may be relative names with hostile characters.
 */
export async function workspace(
  tree: Tree,
  names: { golden?: string; root?: string } = {},
): Promise<Workspace> {
  const made = await goldenAndRoot('contract', tree, names)
  workspaces.push(made)
  return made
}

/** What a test left behind: mounts below its temp dir, view dirs in its root. */
export async function leftovers(
  space: Pick<Workspace, 'base' | 'root'>,
): Promise<{ mounts: string[]; views: string[] }> {
  await settle()
  const views = (await readdir(space.root).catch(() => [])).filter((name) =>
    name.startsWith(PREFIX),
  )
  return { mounts: await mountsBelow(space.base), views }
}

/** For afterEach: every workspace of the test that just ran is clean. */
export async function expectNoLeftovers(): Promise<void> {
  const spaces = workspaces.splice(0)
  for (const space of spaces) {
    expect(await leftovers(space), `leftovers of ${space.base}`).toEqual({ mounts: [], views: [] })
  }
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'scratchfs',
  GIT_AUTHOR_EMAIL: 'scratchfs@example.invalid',
  GIT_COMMITTER_NAME: 'scratchfs',
  GIT_COMMITTER_EMAIL: 'scratchfs@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
}

/** Runs git in a dir with a fixed identity and no user or system config. */
export function git(cwd: string, ...args: string[]) {
  return execa('git', args, { cwd, env: GIT_ENV, stdin: 'ignore' })
}

/** Turns a dir into a git repo with everything committed. */
export async function commitAll(dir: string): Promise<void> {
  await git(dir, 'init', '-q', '-b', 'main')
  await git(dir, 'add', '-A')
  await git(dir, 'commit', '-q', '-m', 'golden')
}

/**
 * snapshot() plus every entry's mtime and ctime: a touch or chmod that
 * leaves the bytes alone still shows.
 */
export async function fullState(dir: string): Promise<Record<string, string>> {
  const state = await snapshot(dir)
  for (const path of ['', ...Object.keys(state)]) {
    const info = await lstat(join(dir, path))
    state[`${path}@times`] = `${info.mtimeMs} ${info.ctimeMs}`
  }
  return state
}
