import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { tempDir, writeTree } from '../helpers.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface JestProject {
  /** The private temp dir that holds everything below. */
  base: string
  /** The inline Jest project. */
  dir: string
  golden: string
  /** The scratch root every view of the project lives in. */
  root: string
}

/**
 * A private temp dir with a small golden tree, a scratch root, and a Jest
 * project whose node_modules is the repo's, so it resolves `jest` and
 * `scratchfs/jest-environment` as users do. `$GOLDEN`, `$ROOT` and `$BASE`
 * in the files become those paths.
 */
export async function makeJestProject(files: Record<string, string>): Promise<JestProject> {
  const base = await tempDir('jest-project')
  const project: JestProject = {
    base,
    dir: join(base, 'project'),
    golden: join(base, 'golden'),
    root: join(base, 'root'),
  }
  await writeTree(project.golden, {
    'README.md': 'golden readme\n',
    'package.json': '{ "name": "golden" }\n',
    src: { 'index.js': 'module.exports = 1\n' },
  })
  await mkdir(project.dir, { recursive: true })
  await symlink(join(repo, 'node_modules'), join(project.dir, 'node_modules'))
  // Without it Node would look for a package.json above the temp dir.
  await writeFile(join(project.dir, 'package.json'), '{ "name": "inline", "private": true }\n')
  for (const [name, text] of Object.entries(files)) {
    const path = join(project.dir, name)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(
      path,
      text
        .replaceAll('$GOLDEN', project.golden)
        .replaceAll('$ROOT', project.root)
        .replaceAll('$BASE', base),
    )
  }
  return project
}

export interface JestRun {
  exitCode: number
  /** stdout and stderr together, without colours. */
  output: string
  /** The lines of the output, trimmed at the end. */
  lines: string[]
}

/** Runs the repo's real `jest` in the project. */
export async function runJest(
  project: JestProject,
  args: string[] = [],
  options: { vmModules?: boolean } = {},
): Promise<JestRun> {
  // The outer run's settings must not leak into the inner one.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(VITEST|JEST|SCRATCHFS_|TEST$|NODE_ENV$|NODE_OPTIONS$)/.test(key),
    ),
  )
  const result = await execa(
    join(repo, 'node_modules/.bin/jest'),
    ['--ci', `--cacheDirectory=${join(project.base, 'jest-cache')}`, ...args],
    {
      cwd: project.dir,
      env: {
        ...env,
        NO_COLOR: '1',
        FORCE_COLOR: '0',
        ...(options.vmModules && { NODE_OPTIONS: '--experimental-vm-modules' }),
      },
      extendEnv: false,
      all: true,
      reject: false,
      timeout: 60_000,
    },
  )
  const output = result.all ?? ''
  return {
    exitCode: result.exitCode ?? -1,
    output,
    lines: output.split('\n').map((line) => line.trimEnd()),
  }
}

/** The paths of every `scratchfs: kept <path>` line. */
export function keptPaths(run: JestRun): string[] {
  return run.lines.flatMap((line) => {
    const match = /^scratchfs: kept (\/.*)$/.exec(line)
    return match?.[1] ? [match[1]] : []
  })
}
