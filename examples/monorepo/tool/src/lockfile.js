// package-lock.json (lockfileVersion 2 and 3) edits that keep it in step
// with the manifests, so `npm ci` and `npm ls` agree with the tool.

import { renameKey } from './json-file.js'
import { DEPENDENCY_FIELDS } from './workspace.js'

const LINK_KEY = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)$/

/** Workspace entries (members and the root) are keyed by their directory. */
function isWorkspaceEntry(key) {
  return !key.split('/').includes('node_modules')
}

export function renameInLock(lock, member, to) {
  const from = member.name
  const external = []
  let packages = lock.data.packages ?? {}

  for (const [key, entry] of Object.entries(packages)) {
    if (key === member.dir) entry.name = to
    const linked = LINK_KEY.exec(key)
    if (linked?.[1] === from && entry.link) {
      packages = renameKey(packages, key, key.slice(0, key.length - from.length) + to)
    }
    for (const field of [...DEPENDENCY_FIELDS, 'peerDependenciesMeta']) {
      if (!entry[field] || !(from in entry[field])) continue
      if (isWorkspaceEntry(key)) entry[field] = renameKey(entry[field], from, to)
      else if (field !== 'peerDependenciesMeta') external.push({ package: key, field })
    }
  }
  lock.data.packages = packages
  return external
}

export function bumpInLock(lock, member, version, ranges, satisfies) {
  const external = []
  for (const [key, entry] of Object.entries(lock.data.packages ?? {})) {
    if (key === member.dir) entry.version = version
    for (const field of DEPENDENCY_FIELDS) {
      const range = entry[field]?.[member.name]
      if (range === undefined) continue
      if (isWorkspaceEntry(key)) {
        if (ranges.has(key)) entry[field][member.name] = ranges.get(key)
      } else if (!satisfies(version, range)) {
        external.push({ package: key, field, range })
      }
    }
  }
  return external
}

export function moveInLock(lock, from, to) {
  let packages = lock.data.packages ?? {}
  for (const [key, entry] of Object.entries(packages)) {
    if (entry.link && entry.resolved === from) entry.resolved = to
    if (key === from || key.startsWith(`${from}/`)) {
      packages = renameKey(packages, key, to + key.slice(from.length))
    }
  }
  if (packages['']?.workspaces) {
    // A listed directory (not a glob) follows the move.
    packages[''].workspaces = packages[''].workspaces.map((entry) => (entry === from ? to : entry))
  }
  lock.data.packages = packages
}
