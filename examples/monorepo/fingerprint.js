// A tree's fingerprint: every entry's name, type, mode, owner, link target
// and content hash. Two fingerprints are equal exactly when the trees are
// byte-identical in everything a test could have changed (times aside).

import { createHash } from 'node:crypto'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'

// Enough reads in flight to keep the disk busy without exhausting fds.
const PARALLEL = 64

export async function fingerprint(root) {
  const entries = new Map()
  const totals = { files: 0, dirs: 0, links: 0, bytes: 0 }

  async function describe(relative) {
    const path = relative === '' ? root : join(root, relative)
    const stat = await lstat(path)
    const head = `${stat.mode.toString(8)} ${stat.uid}:${stat.gid}`
    if (stat.isSymbolicLink()) {
      totals.links++
      return { line: `${head} -> ${await readlink(path)}` }
    }
    if (stat.isDirectory()) {
      totals.dirs++
      return { line: head, children: await readdir(path) }
    }
    totals.files++
    totals.bytes += stat.size
    const hash = stat.isFile()
      ? createHash('sha1')
          .update(await readFile(path))
          .digest('hex')
      : `rdev ${stat.rdev}`
    return { line: `${head} ${stat.size} ${hash}` }
  }

  let queue = ['']
  while (queue.length > 0) {
    const next = []
    for (let start = 0; start < queue.length; start += PARALLEL) {
      const batch = queue.slice(start, start + PARALLEL)
      const described = await Promise.all(batch.map(describe))
      for (const [index, relative] of batch.entries()) {
        const { line, children } = described[index]
        entries.set(relative, line)
        for (const child of children ?? [])
          next.push(relative === '' ? child : `${relative}/${child}`)
      }
    }
    queue = next
  }

  const hash = createHash('sha256')
  for (const path of [...entries.keys()].sort()) hash.update(`${path}\0${entries.get(path)}\n`)
  return { ...totals, hash: hash.digest('hex'), entries }
}

/** The paths whose entries differ between two fingerprints, sorted. */
export function differences(before, after) {
  const paths = new Set([...before.entries.keys(), ...after.entries.keys()])
  return [...paths].filter((path) => before.entries.get(path) !== after.entries.get(path)).sort()
}
