// The monorepo as the tool sees it: the root manifest, its lock file, and
// every workspace member with its manifest.

import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { ToolError } from './errors.js'
import { readJson } from './json-file.js'

export const DEPENDENCY_FIELDS = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
]

/** Walks up from `cwd` to the first package.json that declares workspaces. */
export async function loadWorkspace(cwd) {
  let dir = resolve(cwd)
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const root = await readJson(file)
      if (root.data.workspaces) return load(dir, root)
    }
    const parent = dirname(dir)
    if (parent === dir) {
      throw new ToolError(`no package.json with "workspaces" at or above ${cwd}`)
    }
    dir = parent
  }
}

async function load(dir, root) {
  const patterns = Array.isArray(root.data.workspaces)
    ? root.data.workspaces
    : root.data.workspaces.packages
  const members = []
  for (const memberDir of await expand(dir, patterns)) {
    const manifest = await readJson(join(dir, memberDir, 'package.json'))
    members.push({
      name: manifest.data.name,
      version: manifest.data.version,
      dir: memberDir,
      manifest,
    })
  }
  members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

  const lockPath = join(dir, 'package-lock.json')
  const lock = existsSync(lockPath) ? await readJson(lockPath) : undefined
  // npm trusts this copy of the lock for `npm ls` and later installs while
  // node_modules looks untouched, so it has to follow every edit too.
  const hiddenPath = join(dir, 'node_modules', '.package-lock.json')
  const hiddenLock = existsSync(hiddenPath) ? await readJson(hiddenPath) : undefined
  return { dir, root, members, lock, locks: [lock, hiddenLock].filter(Boolean) }
}

// npm's workspace globs in the shapes monorepos use: `dir/*` and plain dirs.
async function expand(dir, patterns) {
  const found = []
  for (const pattern of patterns) {
    const clean = pattern.replace(/^\.\//, '').replace(/\/$/, '')
    if (clean.endsWith('/*')) {
      const parent = clean.slice(0, -2)
      const entries = await readdir(join(dir, parent), { withFileTypes: true })
      for (const entry of entries) {
        const candidate = `${parent}/${entry.name}`
        if (entry.isDirectory() && existsSync(join(dir, candidate, 'package.json'))) {
          found.push(candidate)
        }
      }
    } else if (clean.includes('*')) {
      throw new ToolError(
        `workspace pattern ${JSON.stringify(pattern)} is not supported; use "dir/*" or a plain directory`,
      )
    } else if (existsSync(join(dir, clean, 'package.json'))) {
      found.push(clean)
    }
  }
  return [...new Set(found)].sort()
}

export function findMember(workspace, name) {
  const member = workspace.members.find((candidate) => candidate.name === name)
  if (!member) {
    const names = workspace.members.map((candidate) => candidate.name).join(', ')
    throw new ToolError(`${name} is not a workspace package here; the packages are: ${names}`)
  }
  return member
}

/** Members that name `name` in any dependency field, with the field and range. */
export function dependentsOf(workspace, name) {
  const found = []
  for (const member of workspace.members) {
    for (const field of DEPENDENCY_FIELDS) {
      const range = member.manifest.data[field]?.[name]
      if (range !== undefined) found.push({ member, field, range })
    }
  }
  return found
}

export function relativeTo(workspace, path) {
  return relative(workspace.dir, path).split('\\').join('/')
}
