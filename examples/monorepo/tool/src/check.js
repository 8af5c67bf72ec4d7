// `check`: every range a member puts on another member is met by that
// member's version, and the lock file and node_modules agree with the
// manifests. Each problem is one line naming the file and the fix.

import { lstat, readlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { edges } from './graph.js'
import { satisfies } from './semver.js'
import { relativeTo } from './workspace.js'

export async function check(workspace) {
  const problems = []
  const byName = new Map(workspace.members.map((member) => [member.name, member]))

  for (const edge of edges(workspace)) {
    const version = byName.get(edge.to).version
    if (!satisfies(version, edge.range)) {
      problems.push(
        `${edge.from} wants ${edge.to}@${edge.range} in ${edge.field}, but the workspace has ${version}`,
      )
    }
  }

  for (const member of workspace.members) {
    for (const lock of workspace.locks) {
      const file = relativeTo(workspace, lock.path)
      const entry = lock.data.packages?.[member.dir]
      if (!entry) problems.push(`${file} has no entry for ${member.dir}; run npm install`)
      else if (entry.version !== member.version || (entry.name ?? member.name) !== member.name) {
        problems.push(
          `${file} says ${member.dir} is ${entry.name}@${entry.version}, its package.json says ${member.name}@${member.version}`,
        )
      }
    }
    const link = join(workspace.dir, 'node_modules', member.name)
    const stat = await lstat(link).catch(() => undefined)
    if (!stat?.isSymbolicLink()) {
      problems.push(`node_modules/${member.name} is not a link to ${member.dir}; run npm install`)
    } else if (join(dirname(link), await readlink(link)) !== join(workspace.dir, member.dir)) {
      problems.push(`node_modules/${member.name} does not point at ${member.dir}`)
    }
  }
  return problems
}
