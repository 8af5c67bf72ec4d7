import { basename, resolve } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { ScratchfsError, show } from '../errors.js'
import { checkOptions, type ScratchOptions } from '../options.js'

/** Where the options come from, as the messages name it. */
const WHERE = 'testEnvironmentOptions.scratchfs'

const HOW =
  "testEnvironmentOptions: { scratchfs: { golden: 'path/to/golden' } } in jest.config, or a @jest-environment-options docblock in the test file"

/** `testEnvironmentOptions.scratchfs`: the options of `createScratch`, and `chdir`. */
export type ScratchfsJestOptions = Omit<ScratchOptions, 'signal'> & {
  /**
   * Make the view the working directory of the test process while the
   * file's tests run. Not with `workerThreads: true`: threads cannot
   * change directory.
   * @default false
   */
  chdir?: boolean
}

export interface JestViewOptions {
  scratch: ScratchOptions
  chdir: boolean
}

/**
 * Reads `testEnvironmentOptions.scratchfs` for one test file. Relative
 * `golden` and `root` paths are taken from Jest's `rootDir`, as Jest takes
 * its own paths, not from the worker's cwd.
 */
export function readJestOptions(
  given: unknown,
  rootDir: string,
  testPath: string,
): JestViewOptions {
  if (given === undefined) {
    throw new ScratchfsError(
      'EOPTIONS',
      `${WHERE} is missing: the environment has no golden tree`,
      {
        fix: `set ${HOW}`,
      },
    )
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new ScratchfsError('EOPTIONS', `${WHERE} must be an object, got ${show(String(given))}`, {
      fix: `set ${HOW}`,
    })
  }

  const { chdir = false, ...rest } = given as Partial<ScratchfsJestOptions>
  const options = { label: basename(testPath), ...rest }
  if (typeof options.golden === 'string') options.golden = resolve(rootDir, options.golden)
  else if (Array.isArray(options.golden)) {
    options.golden = options.golden.map((layer: unknown) =>
      typeof layer === 'string' && layer !== '' ? resolve(rootDir, layer) : layer,
    ) as string[]
  }
  if (typeof options.root === 'string' && options.root !== '') {
    options.root = resolve(rootDir, options.root)
  }

  // Every problem at once: chdir's and those of createScratch's own check.
  const problems: string[] = []
  if (typeof chdir !== 'boolean') {
    problems.push(
      `chdir must be true or false, got ${show(String(chdir))}: pass chdir: true to run the tests inside the view, or leave it out`,
    )
  }
  let scratch: ScratchOptions | undefined
  try {
    scratch = checkOptions(options)
  } catch (error) {
    if (!(error instanceof ScratchfsError) || error.code !== 'EOPTIONS') throw error
    problems.push(...listedProblems(error))
  }
  if (problems.length > 0 || scratch === undefined) {
    const list = problems.map((problem) => `  - ${problem}`).join('\n')
    throw new ScratchfsError('EOPTIONS', `invalid ${WHERE}:\n${list}`, {
      fix: `correct ${WHERE} in jest.config (or the file's @jest-environment-options docblock)`,
    })
  }

  if (chdir) checkChdirAllowed()
  return { scratch, chdir: chdir === true }
}

// checkOptions lists its problems one a line, as "  - problem".
function listedProblems(error: ScratchfsError): string[] {
  return error.message
    .split('\n')
    .filter((line) => line.startsWith('  - '))
    .map((line) => line.slice(4).replace('known options: ', 'known options: chdir, '))
}

function checkChdirAllowed(): void {
  if (!isMainThread) {
    throw new ScratchfsError(
      'EOPTIONS',
      `${WHERE}.chdir needs its own process, but this test file runs in a worker thread (workerThreads: true), where process.chdir() is not allowed`,
      {
        fix: 'leave workerThreads out of jest.config, or leave chdir out and use process.env.SCRATCHFS_DIR as the cwd of what you run',
      },
    )
  }
}
