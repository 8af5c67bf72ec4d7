import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keptPaths, makeProject, type Project, type Run, runBin } from '../project.js'

export { keptPaths, type Project as JestProject, type Run as JestRun }

/** A Jest project: CommonJS golden sources and a package.json of its own. */
export async function makeJestProject(files: Record<string, string>): Promise<Project> {
  const project = await makeProject(files, {
    name: 'jest-project',
    goldenIndex: 'module.exports = 1\n',
  })
  // Without it Node would look for a package.json above the temp dir.
  await writeFile(join(project.dir, 'package.json'), '{ "name": "inline", "private": true }\n')
  return project
}

/** Runs the repo's real `jest` in the project. */
export function runJest(
  project: Project,
  args: string[] = [],
  options: { vmModules?: boolean } = {},
): Promise<Run> {
  const cache = `--cacheDirectory=${join(project.base, 'jest-cache')}`
  return runBin(project, 'jest', ['--ci', cache, ...args], {
    env: options.vmModules ? { NODE_OPTIONS: '--experimental-vm-modules' } : {},
    timeout: 60_000,
  })
}
