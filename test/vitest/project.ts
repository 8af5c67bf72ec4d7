import { keptPaths, makeProject, type Project, type Run, runBin } from '../project.js'

export { keptPaths, makeProject, type Project, type Run }

/** Runs a real `vitest run` in the project with the given extra arguments and variables. */
export function runVitest(
  project: Project,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Run> {
  return runBin(project, 'vitest', ['run', '--reporter=default', ...args], {
    env: { CI: '1', ...env },
    timeout: 120_000,
  })
}

/** Every summary line the plugin printed. */
export function summaryLines(run: Run): string[] {
  return run.lines.filter((line) => /^scratchfs: \d+ views made/.test(line))
}
