import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { tempDir, writeTree } from './helpers.js'

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface Project {
  /** The private temp dir that holds everything below. */
  base: string
  /** The inline test-runner project. */
  dir: string
  golden: string
  /** The scratch root every view of the project lives in. */
  root: string
}

/**
 * A private temp dir with a small golden tree, a scratch root, and a
 * project dir whose node_modules is the repo's, so the project resolves the
 * test runner and scratchfs as users do. `$GOLDEN`, `$ROOT` and `$BASE` in
 * the files become those paths.
 */
export async function makeProject(
  files: Record<string, string>,
  options: { name?: string; goldenIndex?: string } = {},
): Promise<Project> {
  const base = await tempDir(options.name ?? 'project')
  const project: Project = {
    base,
    dir: join(base, 'project'),
    golden: join(base, 'golden'),
    root: join(base, 'root'),
  }
  await writeTree(project.golden, {
    'README.md': 'golden readme\n',
    'package.json': '{ "name": "golden" }\n',
    src: { 'index.js': options.goldenIndex ?? 'export default 1\n' },
  })
  await mkdir(project.dir, { recursive: true })
  await symlink(join(repo, 'node_modules'), join(project.dir, 'node_modules'))
  for (const [name, text] of Object.entries(files)) {
    const path = join(project.dir, name)
    await mkdir(dirname(path), { recursive: true })
    const replaced = text
      .replaceAll('$GOLDEN', project.golden)
      .replaceAll('$ROOT', project.root)
      .replaceAll('$BASE', base)
    await writeFile(path, replaced)
  }
  return project
}

export interface Run {
  /** The pid of the runner's main process: the run that owns its views. */
  pid: number
  exitCode: number
  /** stdout and stderr together, without colours. */
  output: string
  /** The lines of the output, trimmed at the end. */
  lines: string[]
}

/**
 * Runs a bin from the repo's node_modules in the project, with the outer
 * run's settings (VITEST_*, JEST_*, SCRATCHFS_*, ...) kept out of it.
 */
export async function runBin(
  project: Project,
  bin: string,
  args: string[],
  options: { env?: Record<string, string>; timeout: number; cwd?: string },
): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(VITEST|JEST|SCRATCHFS_|TEST$|NODE_ENV$|NODE_OPTIONS$)/.test(key),
    ),
  )
  const subprocess = execa(join(repo, 'node_modules/.bin', bin), args, {
    cwd: options.cwd ?? project.dir,
    env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    extendEnv: false,
    all: true,
    reject: false,
    timeout: options.timeout,
  })
  const result = await subprocess
  const output = result.all ?? ''
  return {
    pid: subprocess.pid ?? -1,
    exitCode: result.exitCode ?? -1,
    output,
    lines: output.split('\n').map((line) => line.trimEnd()),
  }
}

/** The paths of every `scratchfs: kept <path>` line. */
export function keptPaths(run: Run): string[] {
  return run.lines.flatMap((line) => {
    const match = /^scratchfs: kept (\/.*)$/.exec(line)
    return match?.[1] ? [match[1]] : []
  })
}
