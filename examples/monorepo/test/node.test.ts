import { chmod, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { test } from 'scratchfs/vitest'
import { describe, expect } from 'vitest'
import { at, expectOnlyMine, marker, node, nodeOk, paths, shell, worktree } from './helpers.js'

const transform = (source: string, extra = '') =>
  `const out = require('@babel/core').transformSync(${JSON.stringify(source)}, { configFile: false, babelrc: false${extra} })
   process.stdout.write(out.code)`

describe('node requiring workspace packages through node_modules', () => {
  test('@babel/core transforms code with preset-env from the view', async ({ scratch }) => {
    const code = await nodeOk(
      scratch.path,
      transform(
        'const f = (a) => a?.b ?? 1',
        ", presets: [['@babel/preset-env', { targets: 'ie 11' }]]",
      ),
    )
    expect(code).toContain('var f = function f(a)')
    expect(code).not.toContain('?.')
    expect(await scratch.changes()).toEqual([])
  })

  test('a patched parser in one view changes what @babel/core prints there', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const mine = marker()
    const file = at(repo, 'packages/generator/lib/index.js')
    const original = await readFile(file, 'utf8')
    await writeFile(
      file,
      `${original}\nconst g = exports.default; exports.default = (...a) => { const r = g(...a); r.code = '// ${mine}\\n' + r.code; return r }\n`,
    )
    const code = await nodeOk(repo, transform('let x = 1'))
    expect(code).toBe(`// ${mine}\nlet x = 1;`)
    await expectOnlyMine(repo, mine)
    expect(await scratch.changes()).toEqual([
      { kind: 'modified', path: 'packages/generator/lib/index.js' },
    ])
  })

  test('a member that throws on load breaks its dependents with its own error', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const mine = marker()
    await writeFile(
      at(repo, 'packages/helper-validator-identifier/lib/index.js'),
      `throw new Error('${mine}')\n`,
    )
    const result = await node(repo, transform('let y = 2'))
    expect(result.exitCode).not.toBe(0)
    expect(result.stderr).toContain(mine)
    expect(result.stderr).toContain('packages/helper-validator-identifier/lib/index.js')
  })

  test('without the node_modules link a member cannot be found; restoring it heals', async ({
    scratch,
  }) => {
    const repo = scratch.path
    const link = at(repo, 'node_modules/@babel/parser')
    const target = await shell(repo, 'readlink node_modules/@babel/parser')
    await unlink(link)
    const broken = await node(repo, "require('@babel/parser')")
    expect(broken.stderr).toContain("Cannot find module '@babel/parser'")
    await shell(repo, `ln -s ${target} node_modules/@babel/parser`)
    expect(await nodeOk(repo, "console.log(require('@babel/parser').parse('1').type)")).toBe('File')
    expect(await scratch.changes()).toEqual([])
  })

  test('removing all of node_modules is one deletion, and nothing resolves', async ({
    scratch,
  }) => {
    const repo = scratch.path
    await rm(at(repo, 'node_modules'), { recursive: true })
    const result = await node(repo, "require('@babel/core')")
    expect(result.exitCode).not.toBe(0)
    expect(await scratch.changes()).toEqual([{ kind: 'deleted', path: 'node_modules' }])
  })

  test('exec bits: a bin made non-executable and back', async ({ scratch }) => {
    const repo = scratch.path
    const bin = at(repo, 'packages/parser/bin/babel-parser.js')
    const mode = (await stat(bin)).mode & 0o777
    await chmod(bin, 0o644)
    expect(worktree(await scratch.changes())).toEqual([
      { kind: 'modified', path: 'packages/parser/bin/babel-parser.js' },
    ])
    await chmod(bin, mode)
    expect(await scratch.changes()).toEqual([])
    const parsed = await shell(
      repo,
      'echo "a + 1" > in.js && node node_modules/.bin/parser in.js | head -c 200',
    )
    expect(parsed).toContain('"type": "File"')
    expect(paths(await scratch.changes())).toEqual(['in.js'])
  })

  test('typescript from the golden checks a file written by the test', async ({ scratch }) => {
    const repo = scratch.path
    await writeFile(at(repo, 'check.ts'), 'const n: number = "not a number"\n')
    const run = await shell(repo, 'node node_modules/typescript/bin/tsc --noEmit check.ts || true')
    expect(run).toContain("error TS2322: Type 'string' is not assignable to type 'number'")
    expect(paths(await scratch.changes())).toEqual(['check.ts'])
  })
})
