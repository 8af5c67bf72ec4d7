import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import {
  at,
  expectOnlyMine,
  git,
  marker,
  nodeOk,
  ownCommits,
  readJson,
  shell,
  toolOk,
} from './helpers.js'

// Several views of one golden at the same time, each rewriting the same
// paths in its own way: each must see only its own work.
const ways = ['rename', 'bump', 'delete', 'rewrite', 'npm'] as const

describe.concurrent('views of one golden side by side', () => {
  test.for(ways)('the %s view sees only its own work', async (way, { scratch }) => {
    const repo = scratch.path
    const mine = marker()
    await writeFile(at(repo, 'WHO'), `${way} ${mine}\n`)

    if (way === 'rename') await toolOk(repo, 'rename', '@babel/core', `@${mine}/core`)
    if (way === 'bump') await toolOk(repo, 'bump', '@babel/core', '7.99.0')
    if (way === 'delete') await rm(at(repo, 'packages/core'), { recursive: true })
    if (way === 'rewrite')
      await shell(
        repo,
        `sed -i 's/"version": "7.29.16"/"version": "7.29.16-${mine}"/' packages/core/package.json`,
      )
    if (way === 'npm') await shell(repo, `npm pkg set --workspace @babel/core description=${mine}`)

    // Stay mounted while the others write, then look.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await readFile(at(repo, 'WHO'), 'utf8')).toBe(`${way} ${mine}\n`)
    const core =
      way === 'delete'
        ? undefined
        : await readJson<{ name: string; version: string }>(at(repo, 'packages/core/package.json'))
    const expected = {
      rename: { name: `@${mine}/core`, version: '7.29.16' },
      bump: { name: '@babel/core', version: '7.99.0' },
      delete: undefined,
      rewrite: { name: '@babel/core', version: `7.29.16-${mine}` },
      npm: { name: '@babel/core', version: '7.29.16' },
    }[way]
    expect(core && { name: core.name, version: core.version }).toEqual(expected)

    await git(repo, 'add', '-A')
    await git(repo, 'commit', '-q', '-m', `${way}: ${mine}`)
    expect(await ownCommits(repo)).toEqual([`${way}: ${mine}`])
    await expectOnlyMine(repo, mine)
  })
})

describe('a view is private also to processes it starts', () => {
  test.concurrent.for([1, 2, 3])(
    'child %i writes through the view, its siblings never see it',
    async (n, { scratch }) => {
      const repo = scratch.path
      const mine = marker()
      await mkdir(at(repo, 'out'))
      // A detached-looking pipeline of child processes, all inside this view.
      await shell(
        repo,
        `for i in 1 2 3 4 5; do echo "${mine} $i" > out/$i.txt; done; git add out; git commit -q -m "${n} ${mine}"`,
      )
      await nodeOk(repo, `require('fs').appendFileSync('out/1.txt', 'node ${n}\\n')`)
      expect(await readFile(at(repo, 'out/1.txt'), 'utf8')).toBe(`${mine} 1\nnode ${n}\n`)
      expect(await ownCommits(repo)).toEqual([`${n} ${mine}`])
      await expectOnlyMine(repo, mine)
    },
  )
})
