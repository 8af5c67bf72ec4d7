import { chmod, lstat, mkdir, readdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createScratch, settle } from '../../src/index.js'
import { snapshot, type Tree, tempDir, writeTree } from '../helpers.js'

// Big enough that the copy backend splits it among several cp processes.
function packages(): Tree {
  const tree: Tree = {}
  for (const name of ['alpha', 'beta', 'gamma', '-dash', 'with space', 'comma,name']) {
    const files: Tree = {}
    for (let index = 0; index < 12; index++) files[`file-${index}.js`] = `${name} ${index}\n`
    tree[name] = { 'package.json': `{"name":"${name}"}`, src: files, lib: { link: 'src' } }
  }
  return tree
}

const PAST = new Date('2001-02-03T04:05:06Z')

describe('copy backend: a tree split among several cp processes', () => {
  test('is byte-identical, with the modes and times of the dirs it was split at', async () => {
    const base = await tempDir('copy-split')
    const golden = join(base, 'golden')
    const root = join(base, 'root')
    await writeTree(golden, {
      packages: packages(),
      dangling: { link: 'nowhere/at/all' },
      tool: { file: '#!/bin/sh\n', mode: 0o755 },
    })
    await mkdir(join(golden, 'empty'))
    await mkdir(root)
    await chmod(join(golden, 'packages', 'beta'), 0o750)
    for (const dir of ['packages/alpha/src', 'packages/beta', 'packages', 'empty', '.']) {
      await utimes(join(golden, dir), PAST, PAST)
    }

    const scratch = await createScratch({ golden, root, backend: 'copy' })
    expect(await snapshot(scratch.path)).toEqual(await snapshot(golden))
    for (const dir of ['packages/alpha/src', 'packages/beta', 'packages', 'empty', '.']) {
      const info = await lstat(join(scratch.path, dir))
      expect(info.mtime.toISOString(), dir).toBe(PAST.toISOString())
    }
    expect(await scratch.changes()).toEqual([])

    await scratch.dispose()
    await settle()
    expect(await readdir(root)).toEqual([])
  })
})
