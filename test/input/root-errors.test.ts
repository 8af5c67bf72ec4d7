import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { tempDir, writeTree } from '../helpers.js'
import { repo } from '../project.js'

const CLI = join(repo, 'dist/cli/main.js')

/** createScratch in a fresh process (TMPDIR is read there), killed if it hangs. */
async function createIn(
  options: Record<string, string>,
  env: Record<string, string> = {},
): Promise<{ message: string; code: string }> {
  const script = `
    const { createScratch } = await import(${JSON.stringify(join(repo, 'dist/index.js'))})
    try {
      const view = await createScratch(JSON.parse(process.argv[1]))
      await view.dispose()
      console.log(JSON.stringify({ message: 'made a view', code: '' }))
    } catch (error) {
      console.log(JSON.stringify({ message: error.message, code: error.code }))
    }`
  const result = await execa(
    'node',
    ['--input-type=module', '-e', script, JSON.stringify(options)],
    { env, timeout: 10_000, reject: false },
  )
  expect(result.timedOut).toBe(false)
  return JSON.parse(result.stdout)
}

async function notADirectory(): Promise<string> {
  const file = join(await tempDir('root-errors'), 'a-file')
  await writeFile(file, 'not a directory')
  return file
}

async function golden(): Promise<string> {
  const dir = join(await tempDir('root-errors'), 'golden')
  await writeTree(dir, { 'a.txt': 'a' })
  return dir
}

describe('scratch root errors say what to change where they are raised', () => {
  test('the CLI names --root DIR, and TMPDIR for the default root', async () => {
    const file = await notADirectory()

    const doctor = await execa('node', [CLI, 'doctor'], { env: { TMPDIR: file }, reject: false })
    expect(doctor.exitCode).toBe(1)
    expect(doctor.stderr).toBe(
      `scratchfs: scratch root ${JSON.stringify(join(file, `scratchfs-${process.getuid?.()}`))} cannot be created (ENOTDIR)\nFix: set TMPDIR to a writable directory (the default root is made in it), or pass a writable directory with --root DIR`,
    )

    const clean = await execa('node', [CLI, 'clean', '--root', join(file, 'root')], {
      reject: false,
    })
    expect(clean.exitCode).toBe(1)
    // Cleaning makes no root: one that is not there is named as such.
    expect(clean.stderr).toMatch(
      /does not exist\nFix: pass the directory your runs use with --root DIR$/,
    )
    expect(clean.stderr).not.toMatch(/root option|TMPDIR/)
  })

  test('the API names the root option, and TMPDIR for the default root', async () => {
    const file = await notADirectory()
    const given = await createIn({ golden: await golden(), root: join(file, 'root') })
    expect(given.code).toBe('EROOT')
    expect(given.message).toMatch(/\nFix: pass a writable directory with the root option$/)

    const own = await createIn({ golden: await golden() }, { TMPDIR: file })
    expect(own.code).toBe('EROOT')
    expect(own.message).toMatch(
      /\nFix: set TMPDIR to a writable directory \(the default root is made in it\), or pass a writable directory with the root option$/,
    )
  })

  test.each([
    ['/proc/x', 'procfs', '/proc'],
    ['/proc/self/scratch/x', 'procfs', '/proc/self'],
    ['/sys/x', 'sysfs', '/sys'],
    ['/sys/kernel/scratch', 'sysfs', '/sys/kernel'],
  ])(
    'a root below a kernel filesystem (%s) is refused at once, not made',
    async (root, kind, at) => {
      const refused = await createIn({ golden: await golden(), root })
      expect(refused.code).toBe('EROOT')
      expect(refused.message).toBe(
        `scratch root ${JSON.stringify(root)} is on ${kind} (at ${JSON.stringify(at)}), a kernel filesystem that holds no files\nFix: pass a directory on a disk or a tmpfs with the root option`,
      )

      const clean = await execa('node', [CLI, 'clean', '--root', root], {
        reject: false,
        timeout: 10_000,
      })
      expect(clean.exitCode).toBe(1)
      expect(clean.stderr).toMatch(
        /a kernel filesystem that holds no files\nFix: .* with --root DIR$/,
      )
    },
  )
})

describe('scratchfs CLI usage', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'))
    for (const flag of ['--version', '-v']) {
      const result = await execa('node', [CLI, flag])
      expect(result.stdout).toBe(version)
    }
  })

  test('the usage lists every command with its options', async () => {
    const result = await execa('node', [CLI, '--help'])
    expect(result.stdout).toMatch(/^ {2}doctor \[--json\] \[--root DIR\] /m)
    expect(result.stdout).toMatch(/^ {2}clean \[--root DIR\] \[--dry-run\] /m)
    expect(result.stdout).toMatch(/^ {2}run -- <command\.\.\.> /m)
    expect(result.stdout).toMatch(/^ {2}-v, --version /m)
  })
})
