import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { readlink, stat } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import { at, golden, nodeOk, readJson, shell, toolJson, toolOk, worktree } from './helpers.js'

interface Moved {
  name: string
  from: string
  to: string
  method: 'rename' | 'copy'
  files: string[]
}

// overlayfs without redirect_dir cannot rename a directory that lives in the
// lower layer: rename(2) gives EXDEV, as between filesystems. A full copy has
// no layers, so there the same rename just works.
describe('renaming golden directories inside a view', () => {
  test('renameSync of a golden directory: EXDEV on overlay, a plain rename on copy', ({
    scratch,
  }) => {
    const from = at(scratch.path, 'packages/helpers')
    const to = at(scratch.path, 'packages/helpers-renamed')
    if (scratch.backend === 'overlay') {
      expect(() => renameSync(from, to)).toThrow(expect.objectContaining({ code: 'EXDEV' }))
      expect(existsSync(from)).toBe(true)
      expect(existsSync(to)).toBe(false)
    } else {
      renameSync(from, to)
      expect(existsSync(from)).toBe(false)
    }
  })

  test('renameSync of a directory the test made itself works on every backend', async ({
    scratch,
  }) => {
    const made = at(scratch.path, 'packages/fresh')
    mkdirSync(made)
    writeFileSync(at(made, 'index.js'), 'module.exports = 1\n')
    renameSync(made, at(scratch.path, 'packages/fresh-renamed'))
    expect(worktree(await scratch.changes())).toEqual([
      { kind: 'added', path: 'packages/fresh-renamed/index.js' },
    ])
  })

  test('mv of a golden directory copies where rename fails, and the view shows a move', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const before = await stat(at(repo, 'packages/traverse/lib/index.js'))
    execFileSync('mv', ['packages/traverse', 'packages/traverse-moved'], { cwd: repo })
    const after = await stat(at(repo, 'packages/traverse-moved/lib/index.js'))
    expect(after.size).toBe(before.size)
    // A copy gets new inodes; a rename keeps them.
    if (scratch.backend === 'overlay') expect(after.ino).not.toBe(before.ino)
    else expect(after.ino).toBe(before.ino)

    const changes = worktree(await scratch.changes())
    expect(changes[0]).toEqual({ kind: 'deleted', path: 'packages/traverse' })
    expect(
      changes
        .slice(1)
        .every((c) => c.kind === 'added' && c.path.startsWith('packages/traverse-moved/')),
    ).toBe(true)
    expect(changes.length - 1).toBe(
      Number(await shell(repo, 'find packages/traverse-moved ! -type d | wc -l')),
    )
    // node_modules/@babel/traverse now dangles.
    expect(await readlink(at(repo, 'node_modules/@babel/traverse'))).toBe('../../packages/traverse')
    expect(existsSync(at(repo, 'node_modules/@babel/traverse/package.json'))).toBe(false)
  })
})

describe('monorepo-tool move', () => {
  test('moves a golden package by copying on overlay, renaming on copy', async ({ scratch }) => {
    const repo = scratch.path
    const moved = await toolJson<Moved>(
      repo,
      'move',
      '@babel/code-frame',
      'packages/babel-code-frame',
    )
    expect(moved.method).toBe(scratch.backend === 'overlay' ? 'copy' : 'rename')
    expect(moved.files).toEqual([
      'node_modules/.package-lock.json',
      'node_modules/@babel/code-frame',
      'package-lock.json',
      'packages/babel-code-frame',
      'packages/code-frame',
    ])

    expect(await readlink(at(repo, 'node_modules/@babel/code-frame'))).toBe(
      '../../packages/babel-code-frame',
    )
    const lock = await readJson<{ packages: Record<string, { resolved?: string }> }>(
      at(repo, 'package-lock.json'),
    )
    expect(lock.packages['node_modules/@babel/code-frame']?.resolved).toBe(
      'packages/babel-code-frame',
    )
    expect(lock.packages['packages/code-frame']).toBeUndefined()
    expect(lock.packages['packages/babel-code-frame']).toBeDefined()
    expect(await toolOk(repo, 'check')).toBe('ok')

    // Its dependents load it from the new place.
    const frame = await nodeOk(
      repo,
      `const { codeFrameColumns } = require('@babel/code-frame')
       console.log(require.resolve('@babel/code-frame'))
       console.log(codeFrameColumns('let x = 1', { start: { line: 1, column: 5 } }))`,
    )
    expect(frame).toContain('/packages/babel-code-frame/lib/index.js')
    expect(frame).toContain('> 1 | let x = 1')
  })

  test('a package moved twice: the second move is a plain rename even on overlay', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const first = await toolJson<Moved>(repo, 'move', '@babel/helper-globals', 'packages/globals-a')
    const second = await toolJson<Moved>(
      repo,
      'move',
      '@babel/helper-globals',
      'packages/globals-b',
    )
    expect(first.method).toBe(scratch.backend === 'overlay' ? 'copy' : 'rename')
    // After the first move the directory lives only in the upper layer.
    expect(second.method).toBe('rename')
    expect(second.from).toBe('packages/globals-a')

    const changes = worktree(await scratch.changes())
    expect(changes.filter((c) => c.kind === 'deleted')).toEqual([
      { kind: 'deleted', path: 'packages/helper-globals' },
    ])
    expect(changes.some((c) => c.path.startsWith('packages/globals-a'))).toBe(false)
    expect(changes).toContainEqual({ kind: 'added', path: 'packages/globals-b/package.json' })
    expect(await toolOk(repo, 'check')).toBe('ok')
  })

  test('git sees a move of every file in the package once it is committed', async ({ scratch }) => {
    const repo = scratch.path
    await toolOk(repo, 'move', '@babel/helper-validator-option', 'packages/validator-option')
    await shell(repo, 'git add -A && git commit -q -m "Move helper-validator-option"')
    const status = await shell(repo, 'git show --stat --format= -M HEAD | tail -1')
    expect(status).toMatch(/\d+ files? changed/)
    const renames = await shell(repo, 'git show --name-status --format= -M HEAD | grep -c "^R100"')
    const files = await shell(repo, 'git ls-files packages/validator-option | wc -l')
    expect(Number(renames)).toBe(Number(files))
    expect(await shell(repo, `git rev-parse HEAD~1`)).toBe(golden.head)
  })
})
