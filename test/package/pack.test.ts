import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { tempDir } from '../helpers.js'

const repo = join(import.meta.dirname, '../..')

// The built package as a user installs it: a broken exports map, a missing
// file or an unbuilt dist fails here even when the source tests pass.
describe('npm pack', () => {
  test('the tarballs install side by side and every entry resolves under import and require', async () => {
    const dir = await tempDir('pack')
    const packs = join(dir, 'packs')
    await mkdir(packs)
    const pack = async (cwd: string) => {
      const { stdout } = await execa('npm', ['pack', '--json', '--pack-destination', packs], {
        cwd,
      })
      const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[]
      return info as { filename: string; files: { path: string }[] }
    }
    const core = await pack(repo)
    const env = await pack(join(repo, 'packages/vitest-environment-scratchfs'))
    expect(core.files.map((file) => file.path)).toContain('dist/cli/main.js')
    expect(core.files.some((file) => file.path.startsWith('src/'))).toBe(false)

    const app = join(dir, 'app')
    await mkdir(app)
    await writeFile(
      join(app, 'package.json'),
      '{ "name": "app", "private": true, "type": "module" }\n',
    )
    await execa(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--omit=optional',
        join(packs, core.filename),
        join(packs, env.filename),
      ],
      { cwd: app },
    )

    const entries = [
      'scratchfs',
      'scratchfs/vitest',
      'scratchfs/config',
      'scratchfs/environment',
      'scratchfs/jest-environment',
      'vitest-environment-scratchfs',
    ]
    const script = `
      import { createRequire } from 'node:module'
      const require = createRequire(import.meta.url)
      const out = {}
      for (const name of ${JSON.stringify(entries)}) {
        out[name] = { required: require.resolve(name).replace(process.cwd(), '.') }
      }
      const core = await import('scratchfs')
      out.importKeys = Object.keys(core).sort()
      out.requireKeys = Object.keys(require('scratchfs')).sort()
      console.log(JSON.stringify(out))
    `
    const { stdout } = await execa('node', ['--input-type=module', '-e', script], { cwd: app })
    const out = JSON.parse(stdout) as Record<string, { required: string }> & {
      importKeys: string[]
      requireKeys: string[]
    }
    for (const name of entries) expect(out[name]?.required, name).toMatch(/^\.\/node_modules\//)
    expect(out.importKeys).toEqual(
      expect.arrayContaining(['createScratch', 'Scratch', 'ScratchfsError']),
    )
    expect(out.requireKeys).toEqual(out.importKeys)

    const doctor = await execa(join(app, 'node_modules/.bin/scratchfs'), ['doctor', '--json'], {
      cwd: app,
    })
    const report = JSON.parse(doctor.stdout) as { chosen: string; backends: { name: string }[] }
    expect(report.backends.map((backend) => backend.name)).toContain('copy')
    expect(['overlay', 'fuse-overlayfs', 'copy']).toContain(report.chosen)
  }, 120_000)
})
