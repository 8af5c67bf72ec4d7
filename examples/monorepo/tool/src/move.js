// `move <pkg> <dir>`: moves a member's directory and keeps the lock file and
// the node_modules link pointing at it.

import { cp, lstat, mkdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { ToolError } from './errors.js'
import { writeJson } from './json-file.js'
import { moveInLock } from './lockfile.js'
import { findMember, relativeTo } from './workspace.js'

export async function move(workspace, name, to) {
  const member = findMember(workspace, name)
  const target = join(workspace.dir, to)
  const destination = relativeTo(workspace, target)
  if (destination.startsWith('..') || destination === '') {
    throw new ToolError(`${to} is outside the monorepo at ${workspace.dir}`)
  }
  if (await lstat(target).catch(() => undefined)) {
    throw new ToolError(`${destination} already exists`)
  }
  const from = member.dir
  await mkdir(dirname(target), { recursive: true })
  const method = await moveDir(join(workspace.dir, from), target)

  const files = [from, destination]
  for (const lock of workspace.locks) {
    moveInLock(lock, from, destination)
    await writeJson(lock)
    files.push(relativeTo(workspace, lock.path))
  }
  const link = join(workspace.dir, 'node_modules', name)
  const stat = await lstat(link).catch(() => undefined)
  if (
    stat?.isSymbolicLink() &&
    join(dirname(link), await readlink(link)) === join(workspace.dir, from)
  ) {
    await unlink(link)
    await symlink(relative(dirname(link), target), link)
    files.push(relativeTo(workspace, link))
  }
  member.dir = destination
  return { name, from, to: destination, method, files: files.sort() }
}

async function moveDir(from, to) {
  try {
    await rename(from, to)
    return 'rename'
  } catch (error) {
    // On an overlay whose lower layer holds the directory, rename(2) gives
    // EXDEV (no redirect_dir), as across filesystems: copy, then remove.
    if (error.code !== 'EXDEV') throw error
  }
  await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
  await rm(from, { recursive: true })
  return 'copy'
}
