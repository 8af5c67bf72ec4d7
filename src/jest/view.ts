import { createScratch, type Scratch } from '../scratch.js'
import { readJestOptions } from './options.js'

export { DIR_ENV } from '../vitest/environment.js'

export interface FileView {
  view: Scratch
  chdir: boolean
}

/** Checks the file's `testEnvironmentOptions.scratchfs` and makes its view. */
export async function openView(
  given: unknown,
  rootDir: string,
  testPath: string,
): Promise<FileView> {
  const options = readJestOptions(given, rootDir, testPath)
  return { view: await createScratch(options.scratch), chdir: options.chdir }
}
