import { appendFile, rm, writeFile } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import {
  at,
  expectOnlyMine,
  git,
  gitRun,
  golden,
  marker,
  ownCommits,
  paths,
  shell,
  worktree,
} from './helpers.js'

describe('git in a view of the golden', () => {
  test('starts clean at the golden HEAD with the golden history', async ({ scratch }) => {
    const repo = scratch.path
    expect(await git(repo, 'rev-parse', 'HEAD')).toBe(golden.head)
    expect(await git(repo, 'status', '--porcelain')).toBe('')
    expect(await ownCommits(repo)).toEqual([])
    expect(await git(repo, 'log', '--format=%s')).toBe(
      [
        'Lock dependencies',
        "Drop the members' devDependencies",
        'Import 17 published Babel packages',
      ].join('\n'),
    )
    expect(worktree(await scratch.changes())).toEqual([])
  })

  test.concurrent.for(Array.from({ length: 6 }, (_, index) => index))(
    'concurrent view %i commits its own marker to the same file and sees no other',
    async (index, { scratch }) => {
      const repo = scratch.path
      const mine = marker()
      await writeFile(at(repo, 'MARKER'), `${mine}\n`)
      await appendFile(at(repo, 'packages/core/README.md'), `\n${mine}\n`)
      await git(repo, 'add', 'MARKER', 'packages/core/README.md')
      await git(repo, 'commit', '-q', '-m', `view ${index}: ${mine}`)
      // Give the other views time to write the same paths.
      await new Promise((resolve) => setTimeout(resolve, 200))

      await expectOnlyMine(repo, mine)
      expect(await ownCommits(repo)).toEqual([`view ${index}: ${mine}`])
      expect(await git(repo, 'show', 'HEAD:MARKER')).toBe(mine)
      expect(paths(worktree(await scratch.changes()))).toEqual([
        'MARKER',
        'packages/core/README.md',
      ])
    },
  )

  test('branches, merges and a rebase stay inside the view', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await git(repo, 'switch', '-q', '-c', `feature-${mine}`)
    await writeFile(at(repo, 'packages/parser/FEATURE.md'), `${mine}\n`)
    await git(repo, 'add', '.')
    await git(repo, 'commit', '-q', '-m', `feature ${mine}`)
    await git(repo, 'switch', '-q', 'main')
    await writeFile(at(repo, 'packages/types/MAIN.md'), `${mine}\n`)
    await git(repo, 'add', '.')
    await git(repo, 'commit', '-q', '-m', `main ${mine}`)
    await git(repo, 'rebase', '-q', 'main', `feature-${mine}`)

    expect((await ownCommits(repo)).sort()).toEqual([`feature ${mine}`, `main ${mine}`])
    expect(await git(repo, 'log', '--format=%s', '-2')).toBe(`feature ${mine}\nmain ${mine}`)
    expect(await git(repo, 'branch', '--format=%(refname:short)')).toBe(`feature-${mine}\nmain`)
    await expectOnlyMine(repo, mine)
  })

  test('git rm -r of a whole package and a commit', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await git(repo, 'rm', '-q', '-r', 'packages/compat-data')
    await git(repo, 'commit', '-q', '-m', `Drop compat-data ${mine}`)
    expect(await ownCommits(repo)).toEqual([`Drop compat-data ${mine}`])
    expect(await git(repo, 'ls-files', 'packages/compat-data')).toBe('')
    expect(worktree(await scratch.changes())).toEqual([
      { kind: 'deleted', path: 'packages/compat-data' },
    ])
    await expectOnlyMine(repo, mine)
  })

  test('git mv, amend and reset --hard back to the golden', async ({ scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await git(repo, 'mv', 'packages/core/README.md', 'packages/core/README.txt')
    await git(repo, 'commit', '-q', '-m', 'move readme')
    await writeFile(at(repo, 'packages/core/NOTES.md'), mine)
    await git(repo, 'add', '.')
    await git(repo, 'commit', '-q', '--amend', '-m', `move readme ${mine}`)
    expect(await git(repo, 'show', '--name-status', '--format=', 'HEAD')).toBe(
      'A\tpackages/core/NOTES.md\nR100\tpackages/core/README.md\tpackages/core/README.txt',
    )

    await git(repo, 'reset', '-q', '--hard', golden.head)
    expect(await git(repo, 'status', '--porcelain')).toBe('')
    // The amended commit still exists in the reflog, but no ref reaches it.
    expect(await ownCommits(repo)).toEqual([])
    expect(worktree(await scratch.changes())).toEqual([])
  })

  test('git clean and checkout undo a heavy rewrite of the sources', async ({ scratch }) => {
    const repo = scratch.path
    await shell(repo, 'for f in packages/*/lib/*.js; do echo "throw 1" > "$f"; done')
    await rm(at(repo, 'packages/generator'), { recursive: true })
    await writeFile(at(repo, 'stray.txt'), 'stray')
    const dirty = (await git(repo, 'status', '--porcelain')).split('\n')
    expect(dirty.length).toBeGreaterThan(50)

    await git(repo, 'checkout', '-q', '--', '.')
    await git(repo, 'clean', '-q', '-fd')
    expect(await git(repo, 'status', '--porcelain')).toBe('')
    expect(worktree(await scratch.changes())).toEqual([])
  })

  test('git gc repacks the view’s objects, and fsck finds the golden history intact', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const mine = marker()
    await writeFile(at(repo, 'GC.md'), mine)
    await git(repo, 'add', 'GC.md')
    await git(repo, 'commit', '-q', '-m', mine)
    await git(repo, 'gc', '-q', '--prune=now')
    const fsck = await gitRun(repo, 'fsck', '--full', '--strict')
    expect(fsck.exitCode).toBe(0)
    expect(await ownCommits(repo)).toEqual([mine])
    expect(await git(repo, 'count-objects', '-v')).toMatch(/^count: 0$/m)
    const changes = await scratch.changes()
    expect(changes.some((c) => c.path.startsWith('.git/objects/pack/'))).toBe(true)
    expect(paths(worktree(changes))).toEqual(['GC.md'])
  })
})
