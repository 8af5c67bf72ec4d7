import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { tempDir, writeTree } from '../helpers.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface Project {
  /** The private temp dir that holds everything below. */
  base: string
  /** The inline Vitest project. */
  dir: string
  golden: string
  /** The scratch root every view of the project lives in. */
  root: string
}

/**
 * A private temp dir with a small golden tree, a scratch root, and a
 * project dir whose node_modules is the repo's, so the project resolves
 * `vitest`, `scratchfs` and `vitest-environment-scratchfs` as users do.
 */
export async function makeProject(files: Record<string, string>): Promise<Project> {
  const base = await tempDir('vitest-project')
  const project: Project = {
    base,
    dir: join(base, 'project'),
    golden: join(base, 'golden'),
    root: join(base, 'root'),
  }
  await writeTree(project.golden, {
    'README.md': 'golden readme\n',
    'package.json': '{ "name": "golden" }\n',
    src: { 'index.js': 'export default 1\n' },
  })
  await mkdir(project.dir, { recursive: true })
  await symlink(join(repo, 'node_modules'), join(project.dir, 'node_modules'))
  for (const [name, text] of Object.entries(files)) {
    const path = join(project.dir, name)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(
      path,
      text.replaceAll('$GOLDEN', project.golden).replaceAll('$ROOT', project.root),
    )
  }
  return project
}

export interface Run {
  /** The pid of the Vitest main process: the run that owns its views. */
  pid: number
  exitCode: number
  /** stdout and stderr together, without colours. */
  output: string
  /** The lines of the output, trimmed at the end. */
  lines: string[]
}

/** Runs a real `vitest run` in the project with the given extra arguments. */
export async function runVitest(project: Project, args: string[] = []): Promise<Run> {
  // The outer run's settings must not leak into the inner one.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(VITEST|SCRATCHFS_|TEST$|NODE_ENV$)/.test(key),
    ),
  )
  const subprocess = execa(
    join(repo, 'node_modules/.bin/vitest'),
    ['run', '--reporter=default', ...args],
    {
      cwd: project.dir,
      env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
      extendEnv: false,
      all: true,
      reject: false,
      timeout: 120_000,
    },
  )
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

/** Every summary line the plugin printed. */
export function summaryLines(run: Run): string[] {
  return run.lines.filter((line) => /^scratchfs: \d+ views made/.test(line))
}
