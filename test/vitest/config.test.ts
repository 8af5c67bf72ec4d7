import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { scratchfs } from '../../src/vitest/config.js'
import { makeProject } from './project.js'

// Records every module Node loads, from a loader thread.
const hooks = `
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.LOADED_LOG, result.url + '\\n')
  return result
}
`

describe('scratchfs() from scratchfs/config', () => {
  test('loads in a config file without loading the test runtime', async () => {
    const project = await makeProject({
      'hooks.mjs': hooks,
      'register.mjs':
        "import { register } from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n",
      'config.mjs': `
import { scratchfs } from 'scratchfs/config'
const plugin = scratchfs({ golden: '$GOLDEN' })
console.log(plugin.name, typeof plugin.configureVitest)
`,
    })
    const log = join(project.base, 'loaded.txt')
    await writeFile(log, '')

    const result = await execa('node', ['--import', './register.mjs', 'config.mjs'], {
      cwd: project.dir,
      env: { LOADED_LOG: log },
    })

    expect(result.stdout).toBe('scratchfs function')
    const loaded = (await readFile(log, 'utf8')).split('\n')
    expect(loaded.some((url) => url.endsWith('/dist/vitest/config.js'))).toBe(true)
    expect(loaded.filter((url) => /\/node_modules\/(vitest|@vitest)\//.test(url))).toEqual([])
  })

  test('reports every bad option at once, naming the fix', async () => {
    const bad = () =>
      scratchfs({ backend: 'zfs', root: '', label: 'x', colour: 1 } as unknown as Parameters<
        typeof scratchfs
      >[0])

    expect(bad).toThrow(/backend must be one of/)
    expect(bad).toThrow(/root must be a non-empty string/)
    expect(bad).toThrow(/label is per view/)
    expect(bad).toThrow(/unknown option "colour"/)
    expect(bad).toThrow(/Fix: /)
  })

  test('accepts no golden: fixtures may name their own', () => {
    expect(scratchfs().name).toBe('scratchfs')
  })
})
