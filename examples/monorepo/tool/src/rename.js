// `rename <old> <new>`: the package's own name, every dependent's manifest,
// module specifiers in the members' sources, the lock file and the
// node_modules link, so the repo builds and resolves under the new name.

import { lstat, mkdir, readdir, readlink, rmdir, symlink, unlink } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { ToolError } from './errors.js'
import { renameKey, writeJson } from './json-file.js'
import { renameInLock } from './lockfile.js'
import { rewriteTree } from './specifiers.js'
import { DEPENDENCY_FIELDS, findMember, relativeTo } from './workspace.js'

const NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/

export async function rename(workspace, from, to) {
  const member = findMember(workspace, from)
  if (!NAME.test(to) || to.length > 214) {
    throw new ToolError(`${JSON.stringify(to)} is not a valid npm package name`)
  }
  if (workspace.members.some((other) => other.name === to)) {
    throw new ToolError(`${to} is already the name of a workspace package`)
  }
  const files = new Set()
  const written = (path) => files.add(relativeTo(workspace, path))

  // Manifests: the package itself, then everything that depends on it.
  member.manifest.data.name = to
  for (const manifest of [workspace.root, ...workspace.members.map((other) => other.manifest)]) {
    let changed = manifest === member.manifest
    for (const field of DEPENDENCY_FIELDS) {
      if (manifest.data[field] && from in manifest.data[field]) {
        manifest.data[field] = renameKey(manifest.data[field], from, to)
        changed = true
      }
    }
    if (changed) {
      await writeJson(manifest)
      written(manifest.path)
    }
  }

  let specifiers = 0
  for (const other of workspace.members) {
    for (const { file, count } of await rewriteTree(join(workspace.dir, other.dir), from, to)) {
      specifiers += count
      written(file)
    }
  }

  // Published packages that still name the old one: the first lock lists them all.
  const external = []
  for (const lock of workspace.locks) {
    const found = renameInLock(lock, member, to)
    if (lock === workspace.locks[0]) external.push(...found)
    await writeJson(lock)
    written(lock.path)
  }

  for (const path of await relink(workspace, member, from, to)) written(path)
  member.name = to

  return { from, to, specifiers, external, files: [...files].sort() }
}

// npm links each member into the root node_modules under its name.
async function relink(workspace, member, from, to) {
  const oldLink = join(workspace.dir, 'node_modules', from)
  const stat = await lstat(oldLink).catch(() => undefined)
  if (!stat?.isSymbolicLink()) return []

  const target = await readlink(oldLink)
  const memberDir = join(workspace.dir, member.dir)
  if (join(dirname(oldLink), target) !== memberDir) return []

  const newLink = join(workspace.dir, 'node_modules', to)
  await unlink(oldLink)
  await removeEmptyScope(dirname(oldLink))
  await mkdir(dirname(newLink), { recursive: true })
  await symlink(relative(dirname(newLink), memberDir), newLink)
  return [oldLink, newLink]
}

async function removeEmptyScope(dir) {
  if (!dir.split('/').pop().startsWith('@')) return
  if ((await readdir(dir)).length === 0) await rmdir(dir)
}
