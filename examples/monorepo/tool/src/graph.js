// The dependency graph between workspace members: edges, a build order
// (dependencies first) and who depends on a package, directly or not.

import { DEPENDENCY_FIELDS, dependentsOf, findMember } from './workspace.js'

export function edges(workspace) {
  const names = new Set(workspace.members.map((member) => member.name))
  const found = []
  for (const member of workspace.members) {
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, range] of Object.entries(member.manifest.data[field] ?? {})) {
        if (names.has(name)) found.push({ from: member.name, to: name, field, range })
      }
    }
  }
  return found
}

/**
 * Kahn's algorithm; members caught in a cycle come last, listed in `cycle`.
 * Peer dependencies are met by the host at install time, so they do not
 * order the build (a plugin peers on the core that depends on it).
 */
export function buildOrder(workspace) {
  const waiting = new Map(workspace.members.map((member) => [member.name, new Set()]))
  for (const edge of edges(workspace)) {
    if (edge.from !== edge.to && edge.field !== 'peerDependencies')
      waiting.get(edge.from).add(edge.to)
  }
  const order = []
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, needs]) => needs.size === 0).map(([name]) => name)
    if (ready.length === 0) break
    for (const name of ready.sort()) {
      order.push(name)
      waiting.delete(name)
      for (const needs of waiting.values()) needs.delete(name)
    }
  }
  return { order, cycle: [...waiting.keys()].sort() }
}

export function dependents(workspace, name, transitive) {
  findMember(workspace, name)
  const direct = (target) => dependentsOf(workspace, target).map(({ member }) => member.name)
  if (!transitive) return [...new Set(direct(name))].sort()

  const seen = new Set()
  const queue = [name]
  while (queue.length > 0) {
    for (const next of direct(queue.shift())) {
      if (!seen.has(next) && next !== name) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return [...seen].sort()
}
