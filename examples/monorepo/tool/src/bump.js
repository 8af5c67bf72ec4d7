// `bump <pkg> <version>`: sets the version and moves every dependent's range
// along, keeping its operator (^1.2.3 stays a caret range). Ranges that are
// not a single version (`*`, `1.x`, `a || b`) are left and reported.

import { ToolError } from './errors.js'
import { writeJson } from './json-file.js'
import { bumpInLock } from './lockfile.js'
import { isVersion, satisfies } from './semver.js'
import { dependentsOf, findMember, relativeTo } from './workspace.js'

const SINGLE = /^(\^|~|>=|=)?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/

export async function bump(workspace, name, version) {
  const member = findMember(workspace, name)
  if (!isVersion(version)) {
    throw new ToolError(`${JSON.stringify(version)} is not a version (expected x.y.z)`)
  }
  const previous = member.version
  const files = new Set()
  const kept = []
  const ranges = new Map()

  member.manifest.data.version = version
  const touched = new Set([member.manifest])
  for (const { member: dependent, field, range } of dependentsOf(workspace, name)) {
    const single = SINGLE.exec(range)
    if (!single) {
      kept.push({ package: dependent.name, field, range, satisfied: satisfies(version, range) })
      continue
    }
    const next = `${single[1] ?? ''}${version}`
    dependent.manifest.data[field][name] = next
    ranges.set(dependent.dir, next)
    touched.add(dependent.manifest)
  }
  for (const manifest of touched) {
    await writeJson(manifest)
    files.add(relativeTo(workspace, manifest.path))
  }

  const external = []
  for (const lock of workspace.locks) {
    const found = bumpInLock(lock, member, version, ranges, satisfies)
    if (lock === workspace.locks[0]) external.push(...found)
    await writeJson(lock)
    files.add(relativeTo(workspace, lock.path))
  }
  member.version = version
  return { name, from: previous, to: version, kept, external, files: [...files].sort() }
}
