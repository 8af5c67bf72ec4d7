import { rm, symlink, writeFile } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import {
  at,
  editJson,
  expectOnlyMine,
  marker,
  members,
  npm,
  paths,
  readJson,
  toolJson,
  worktree,
} from './helpers.js'

describe('npm in a view of the golden (offline)', () => {
  test('npm ls --all is clean on the untouched golden', async ({ scratch }) => {
    const ls = await npm(scratch.path, 'ls', '--all', '--offline', '--json')
    expect(ls.exitCode).toBe(0)
    const tree = JSON.parse(ls.stdout) as { name: string; dependencies: Record<string, unknown> }
    expect(tree.name).toBe('babel-core-family')
    for (const name of members) expect(Object.keys(tree.dependencies)).toContain(name)
    expect(await scratch.changes()).toEqual([])
  })

  test('npm pkg set in every workspace writes each manifest and nothing else', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const mine = marker()
    const set = await npm(
      repo,
      'pkg',
      'set',
      `description=${mine}`,
      'scripts.mark=echo ok',
      '--workspaces',
    )
    expect(set.exitCode).toBe(0)
    const got = await npm(repo, 'pkg', 'get', 'description', '--workspaces', '--json')
    const descriptions = JSON.parse(got.stdout) as Record<string, string>
    expect(Object.keys(descriptions).sort()).toEqual([...members].sort())
    expect(new Set(Object.values(descriptions))).toEqual(new Set([mine]))

    const expected = members.map((name) => `packages/${name.split('/').pop()}/package.json`).sort()
    expect(await scratch.changes()).toEqual(expected.map((path) => ({ kind: 'modified', path })))
    await expectOnlyMine(repo, mine)
  })

  test('npm run in a workspace runs its script inside the view', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await npm(
      repo,
      'pkg',
      'set',
      `scripts.mark=node -e "require('fs').writeFileSync('MARK', '${mine}')"`,
      '--workspace',
      '@babel/parser',
    )
    const run = await npm(repo, 'run', 'mark', '--workspace', '@babel/parser')
    expect(run.exitCode).toBe(0)
    expect(paths(await scratch.changes())).toEqual([
      'packages/parser/MARK',
      'packages/parser/package.json',
    ])
    await expectOnlyMine(repo, mine)
  })

  test('deleting an installed dependency makes npm ls name it missing', async ({ scratch }) => {
    const repo = scratch.path
    await rm(at(repo, 'node_modules/jsesc'), { recursive: true })
    await rm(at(repo, 'node_modules/core-js'), { recursive: true })
    const ls = await npm(repo, 'ls', '--all', '--offline')
    expect(ls.exitCode).not.toBe(0)
    expect(ls.stderr).toMatch(
      /missing: jsesc@\^3\.0\.2, required by \S*@babel\/generator@7\.29\.16/,
    )
    expect(ls.stderr).toMatch(/missing: core-js@3\.47\.0, required by babel-core-family@0\.0\.0/)
    expect(await scratch.changes()).toEqual([
      { kind: 'deleted', path: 'node_modules/core-js' },
      { kind: 'deleted', path: 'node_modules/jsesc' },
    ])
  })

  test('a dependency replaced by a local package shows up as invalid', async ({ scratch }) => {
    const repo = scratch.path
    await rm(at(repo, 'node_modules/picocolors'), { recursive: true })
    await symlink('../packages/helper-globals', at(repo, 'node_modules/picocolors'))
    const ls = await npm(repo, 'ls', 'picocolors', '--offline')
    expect(ls.exitCode).not.toBe(0)
    expect(ls.stdout + ls.stderr).toMatch(/@babel\/helper-globals@7\.29\.7|invalid/)
    expect(await scratch.changes()).toEqual([{ kind: 'modified', path: 'node_modules/picocolors' }])
  })

  test('a new workspace member written by hand joins npm ls and the tool', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    const dir = at(repo, 'packages/local-tool')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    await writeFile(
      at(dir, 'package.json'),
      `${JSON.stringify({ name: '@acme/local', version: '1.0.0', description: mine, dependencies: { '@babel/parser': '^7.29.0' } }, null, 2)}\n`,
    )
    await writeFile(at(dir, 'index.js'), "module.exports = require('@babel/parser')\n")
    const list = await toolJson<{ name: string }[]>(repo, 'list')
    expect(list.map((member) => member.name)).toContain('@acme/local')
    expect(await toolJson<string[]>(repo, 'dependents', '@babel/parser')).toContain('@acme/local')
    await expectOnlyMine(repo, mine)

    // npm notices a workspace that the lock file and node_modules do not know yet.
    const ls = await npm(repo, 'ls', '--offline')
    expect(ls.exitCode).not.toBe(0)
    expect(ls.stderr).toContain('@acme/local')
  })

  test('root devDependencies edited by hand: npm ls reports the mismatch', async ({ scratch }) => {
    const repo = scratch.path
    await editJson(at(repo, 'package.json'), (data) => {
      ;(data.devDependencies as Record<string, string>).typescript = '4.9.5'
    })
    const ls = await npm(repo, 'ls', 'typescript', '--offline')
    expect(ls.exitCode).not.toBe(0)
    expect(ls.stderr).toContain('invalid: typescript@5.9.3')
    const root = await readJson<{ devDependencies: Record<string, string> }>(
      at(repo, 'package.json'),
    )
    expect(root.devDependencies.typescript).toBe('4.9.5')
    expect(worktree(await scratch.changes())).toEqual([{ kind: 'modified', path: 'package.json' }])
  })
})
