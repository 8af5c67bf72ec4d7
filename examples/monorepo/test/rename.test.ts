import { readFile, readlink, writeFile } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import {
  at,
  dirOf,
  expectOnlyMine,
  git,
  marker,
  members,
  node,
  nodeOk,
  npm,
  ownCommits,
  paths,
  readJson,
  tool,
  toolJson,
  toolOk,
  worktree,
} from './helpers.js'

interface Renamed {
  from: string
  to: string
  specifiers: number
  external: { package: string; field: string }[]
  files: string[]
}

const acme = (name: string) => name.replace('@babel/', '@acme/')

describe('monorepo-tool rename, once per workspace package', () => {
  test.concurrent.for(members)('renames %s everywhere it is named', async (name, { scratch }) => {
    const repo = scratch.path
    const renamed = await toolJson<Renamed>(repo, 'rename', name, acme(name))

    // What the tool says it wrote is exactly what the view changed.
    const changes = await scratch.changes()
    expect(paths(changes)).toEqual(renamed.files)
    const link = `node_modules/${name}`
    for (const change of changes) {
      const kind =
        change.path === link
          ? 'deleted'
          : change.path === `node_modules/${acme(name)}`
            ? 'added'
            : 'modified'
      expect(change).toEqual({ kind, path: change.path })
    }

    const manifest = await readJson(at(repo, dirOf(name), 'package.json'))
    expect(manifest.name).toBe(acme(name))
    expect(await toolOk(repo, 'check')).toBe('ok')

    // No member still names the old package as a dependency or in a specifier.
    const grep = await git(
      repo,
      'grep',
      '-lE',
      `(require\\(|from |import\\()["']${name}["'/]`,
      '--',
      'packages',
    ).catch(() => '')
    expect(grep).toBe('')
    for (const other of await toolJson<{ dir: string }[]>(repo, 'list')) {
      const data = await readJson(at(repo, other.dir, 'package.json'))
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        expect(Object.keys((data[field] as object) ?? {})).not.toContain(name)
      }
    }

    // Node resolves the new name through node_modules, the old one is gone.
    const probe = name === '@babel/compat-data' ? '/plugins' : '/package.json'
    expect(await nodeOk(repo, `console.log(require.resolve('${acme(name)}${probe}'))`)).toContain(
      `/${dirOf(name)}/`,
    )
    const old = await node(repo, `require.resolve('${name}${probe}')`)
    expect(old.stderr).toContain('MODULE_NOT_FOUND')
  })
})

describe('monorepo-tool rename, in depth', () => {
  test('a renamed @babel/types still transforms code through @babel/core', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    const renamed = await toolJson<Renamed>(repo, 'rename', '@babel/types', '@acme/types')
    expect(renamed.specifiers).toBeGreaterThan(40)

    // The marker goes through a real transform and into a file of the view.
    const ident = mine.replace(/-/g, '_')
    await nodeOk(
      repo,
      `const babel = require('@babel/core')
       const out = babel.transformSync('const ${ident} = () => 1', { configFile: false, babelrc: false })
       require('fs').writeFileSync('out.js', out.code.replace(/_/g, '-'))`,
    )
    expect(await readFile(at(repo, 'out.js'), 'utf8')).toContain(`const ${mine} = () => 1`)
    const types = await nodeOk(repo, `console.log(require.resolve('@acme/types'))`)
    expect(types.trim()).toBe(at(repo, 'packages/types/lib/index.js'))
    await expectOnlyMine(repo, mine)
    expect(worktree(await scratch.changes())).toContainEqual({ kind: 'added', path: 'out.js' })
  })

  test('published dependents keep the old name, and npm ls says exactly which', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const renamed = await toolJson<Renamed>(repo, 'rename', '@babel/types', '@acme/types')
    expect(renamed.external.length).toBeGreaterThan(0)

    const ls = await npm(repo, 'ls', '--all', '--offline')
    expect(ls.exitCode).not.toBe(0)
    const missing = [...ls.stderr.matchAll(/missing: @babel\/types@\S+, required by (\S+)@/g)].map(
      (match) => match[1],
    )
    const external = renamed.external.map((entry) => entry.package.replace(/^.*node_modules\//, ''))
    expect([...new Set(missing)].sort()).toEqual([...new Set(external)].sort())

    // preset-env loads published helpers that require the old name.
    const preset = await node(
      repo,
      `require('@babel/core').transformSync('a?.b', { configFile: false, presets: ['@babel/preset-env'] })`,
    )
    expect(preset.exitCode).not.toBe(0)
    expect(preset.stderr).toMatch(/Cannot find module '@babel\/types'/)
  })

  test('a package no published package depends on renames cleanly for npm ls', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const renamed = await toolJson<Renamed>(repo, 'rename', '@babel/helpers', '@acme/helpers')
    expect(renamed.external).toEqual([])
    const ls = await npm(repo, 'ls', '--all', '--offline')
    expect(ls.stderr).toBe('')
    expect(ls.exitCode).toBe(0)
    expect(ls.stdout).toContain('@acme/helpers@7.29.16 -> ./packages/helpers')
    expect(ls.stdout).not.toContain('@babel/helpers@')
  })

  test('renaming there and back leaves no change at all', async ({ scratch }) => {
    const repo = scratch.path
    await toolOk(repo, 'rename', '@babel/parser', '@acme/parser')
    expect((await scratch.changes()).length).toBeGreaterThan(5)
    await toolOk(repo, 'rename', '@acme/parser', '@babel/parser')
    expect(await scratch.changes()).toEqual([])
    expect(await readlink(at(repo, 'node_modules/@babel/parser'))).toBe('../../packages/parser')
  })

  test('a rename committed with git is the only commit on top of the golden', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const mine = marker()
    const renamed = await toolJson<Renamed>(repo, 'rename', '@babel/template', '@acme/template')
    await git(repo, 'add', '-A')
    await git(repo, 'commit', '-q', '-m', `Rename @babel/template (${mine})`)

    expect(await ownCommits(repo)).toEqual([`Rename @babel/template (${mine})`])
    expect(await git(repo, 'status', '--porcelain')).toBe('')
    const committed = (await git(repo, 'diff', '--name-only', 'HEAD~1', 'HEAD')).split('\n')
    // node_modules is ignored: git sees the rest of what the tool wrote.
    expect(committed).toEqual(renamed.files.filter((file) => !file.startsWith('node_modules/')))
    await expectOnlyMine(repo, mine)
  })

  test('refuses a name a member already has, and writes nothing', async ({ scratch }) => {
    const result = await tool(scratch.path, 'rename', '@babel/types', '@babel/parser')
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('@babel/parser is already the name of a workspace package')
    expect(await scratch.changes()).toEqual([])
  })

  test('refuses an invalid name and an unknown package', async ({ scratch }) => {
    const invalid = await tool(scratch.path, 'rename', '@babel/types', 'Not A Name')
    expect(invalid.exitCode).toBe(1)
    expect(invalid.stderr).toContain('is not a valid npm package name')
    const unknown = await tool(scratch.path, 'rename', '@babel/nope', '@acme/nope')
    expect(unknown.exitCode).toBe(1)
    expect(unknown.stderr).toContain('@babel/nope is not a workspace package here')
    expect(await scratch.changes()).toEqual([])
  })

  test('rewrites require, import, export-from and declare module in a new source file', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const file = at(repo, 'packages/core/lib/extra.mjs')
    await writeFile(
      file,
      [
        `import t from '@babel/types'`,
        `import '@babel/types/lib/index.js'`,
        `export * from "@babel/types"`,
        `const lazy = () => import('@babel/types')`,
        `const r = require.resolve('@babel/types/package.json')`,
        `declare module '@babel/types' {}`,
        `const message = 'install @babel/types first'`,
        `const other = require('@babel/types-extra')`,
        '',
      ].join('\n'),
    )
    await toolOk(repo, 'rename', '@babel/types', '@acme/types')
    expect((await readFile(file, 'utf8')).split('\n')).toEqual([
      `import t from '@acme/types'`,
      `import '@acme/types/lib/index.js'`,
      `export * from "@acme/types"`,
      `const lazy = () => import('@acme/types')`,
      `const r = require.resolve('@acme/types/package.json')`,
      `declare module '@acme/types' {}`,
      `const message = 'install @babel/types first'`,
      `const other = require('@babel/types-extra')`,
      '',
    ])
    expect(worktree(await scratch.changes())).toContainEqual({
      kind: 'added',
      path: 'packages/core/lib/extra.mjs',
    })
  })
})
