import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import {
  at,
  expectOnlyMine,
  git,
  marker,
  npm,
  ownCommits,
  paths,
  readJson,
  tool,
  toolJson,
  toolOk,
  worktree,
} from './helpers.js'

interface Bumped {
  name: string
  from: string
  to: string
  kept: { package: string; field: string; range: string; satisfied: boolean }[]
  external: { package: string; field: string; range: string }[]
  files: string[]
}

type Lock = {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>
}

describe('monorepo-tool bump', () => {
  test('moves every dependent range of @babel/types along, keeping the caret', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const dependents = await toolJson<string[]>(repo, 'dependents', '@babel/types')
    const bumped = await toolJson<Bumped>(repo, 'bump', '@babel/types', '7.30.0')
    expect(bumped.from).toBe('7.29.15')

    for (const name of dependents) {
      const dir = `packages/${name.split('/').pop()}`
      const manifest = await readJson<{ dependencies: Record<string, string> }>(
        at(repo, dir, 'package.json'),
      )
      expect(manifest.dependencies['@babel/types']).toBe('^7.30.0')
    }
    const lock = await readJson<Lock>(at(repo, 'package-lock.json'))
    expect(lock.packages['packages/types']?.version).toBe('7.30.0')
    expect(lock.packages['packages/core']?.dependencies?.['@babel/types']).toBe('^7.30.0')

    expect(await toolOk(repo, 'check')).toBe('ok')
    const expected = [...dependents, '@babel/types']
      .map((name) => `packages/${name.split('/').pop()}/package.json`)
      .concat('package-lock.json', 'node_modules/.package-lock.json')
      .sort()
    expect(bumped.files).toEqual(expected)
    expect(await scratch.changes()).toEqual(expected.map((path) => ({ kind: 'modified', path })))
  })

  test.concurrent.for(['7.29.99', '7.31.0-rc.1', '7.40.2'])(
    'a bump of @babel/traverse to %s: npm ls agrees with what the tool reports',
    async (version, { scratch }) => {
      const repo = scratch.path
      const bumped = await toolJson<Bumped>(repo, 'bump', '@babel/traverse', version)
      const ls = await npm(repo, 'ls', '--all', '--offline')
      if (version.includes('-')) {
        // A prerelease meets no ^7.x range of a published package.
        expect(bumped.external.length).toBeGreaterThan(0)
        expect(ls.exitCode).not.toBe(0)
        expect(ls.stderr).toContain(`invalid: @babel/traverse@${version}`)
      } else {
        expect(bumped.external).toEqual([])
        expect(ls.exitCode).toBe(0)
        expect(ls.stdout).toContain(`@babel/traverse@${version} -> ./packages/traverse`)
      }
      expect(await toolOk(repo, 'check')).toBe('ok')
    },
  )

  test('a major bump names the published packages it leaves behind, as npm ls does', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const bumped = await toolJson<Bumped>(repo, 'bump', '@babel/helper-plugin-utils', '8.0.0')
    const external = new Set(
      bumped.external.map((entry) => entry.package.replace(/^.*node_modules\//, '')),
    )
    expect(external.size).toBeGreaterThan(20)

    // npm ls marks each such edge: "^7.29.7" from node_modules/<published package>.
    const ls = await npm(repo, 'ls', '--all', '--offline')
    expect(ls.exitCode).not.toBe(0)
    expect(ls.stderr).toContain('invalid: @babel/helper-plugin-utils@8.0.0')
    const flagged = new Set(
      [...ls.stdout.matchAll(/"[^"]+" from node_modules\/(\S+?)(?=,| ->|$)/gm)].map((m) => m[1]),
    )
    expect(flagged).toEqual(external)
  })

  test("npm pkg set behind the tool's back breaks check; bump repairs it", async ({ scratch }) => {
    const repo = scratch.path
    const set = await npm(repo, 'pkg', 'set', 'version=8.0.0', '--workspace', '@babel/template')
    expect(set.exitCode).toBe(0)
    const broken = await tool(repo, 'check')
    expect(broken.exitCode).toBe(1)
    expect(broken.stdout).toContain(
      'package-lock.json says packages/template is @babel/template@7.29.7, its package.json says @babel/template@8.0.0',
    )
    expect(broken.stdout).toMatch(
      /@babel\/core wants @babel\/template@\^7\.29\.7 in dependencies, but the workspace has 8\.0\.0/,
    )

    await toolOk(repo, 'bump', '@babel/template', '8.0.0')
    expect(await toolOk(repo, 'check')).toBe('ok')
  })

  test('a release commit and tag on top of the golden history', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await toolOk(repo, 'bump', '@babel/generator', '7.30.1')
    await git(repo, 'commit', '-q', '-am', `Release @babel/generator 7.30.1 (${mine})`)
    await git(repo, 'tag', '-a', 'generator-v7.30.1', '-m', mine)

    expect(await ownCommits(repo)).toEqual([`Release @babel/generator 7.30.1 (${mine})`])
    expect(await git(repo, 'tag', '--list')).toBe('generator-v7.30.1')
    expect(await git(repo, 'describe', '--tags')).toBe('generator-v7.30.1')
    expect(await git(repo, 'status', '--porcelain')).toBe('')
    await expectOnlyMine(repo, mine)
    expect(paths(worktree(await scratch.changes()))).toEqual([
      'node_modules/.package-lock.json',
      'package-lock.json',
      'packages/core/package.json',
      'packages/generator/package.json',
      'packages/traverse/package.json',
    ])
  })

  test('refuses a version that is not one, and writes nothing', async ({ scratch }) => {
    const result = await tool(scratch.path, 'bump', '@babel/core', 'next')
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('"next" is not a version')
    const usage = await tool(scratch.path, 'bump', '@babel/core')
    expect(usage.exitCode).toBe(2)
    expect(usage.stderr).toContain('bump takes 2 argument(s), got 1')
    expect(await scratch.changes()).toEqual([])
  })
})
