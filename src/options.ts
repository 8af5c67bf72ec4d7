import { BACKEND_NAMES } from './backends/probe.js'
import type { BackendName } from './backends/types.js'
import { ScratchfsError } from './errors.js'

export interface ScratchOptions {
  /** The golden tree: a directory, or several layers, top first. */
  golden: string | readonly string[]
  /**
   * Which backend makes the view. `auto` mounts an overlay where it can and
   * copies where it cannot; a named backend that cannot work throws.
   * @default 'auto'
   */
  backend?: 'auto' | BackendName
  /**
   * Where view dirs live.
   * @default `${os.tmpdir()}/scratchfs-${uid}`
   */
  root?: string
  /** A readable name used in dir names and messages. @default 'view' */
  label?: string
}

const KNOWN = new Set(['golden', 'backend', 'root', 'label'])

/** Checks every option and reports every problem at once. */
export function checkOptions(options: unknown): ScratchOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ScratchfsError(
      'EOPTIONS',
      `createScratch needs an options object, got ${describe(options)}`,
      {
        fix: "call createScratch({ golden: 'path/to/golden' })",
      },
    )
  }
  const given = options as Record<string, unknown>
  const problems: string[] = []

  const golden = given.golden
  const layers = Array.isArray(golden) ? golden : [golden]
  if (golden === undefined) {
    problems.push(
      "golden is missing: pass the directory the views start from, e.g. golden: 'test/fixtures/repo'",
    )
  } else if (
    layers.length === 0 ||
    !layers.every((layer) => typeof layer === 'string' && layer !== '')
  ) {
    problems.push(
      `golden must be a directory path or a non-empty array of them, got ${describe(golden)}`,
    )
  }
  if (
    given.backend !== undefined &&
    given.backend !== 'auto' &&
    !BACKEND_NAMES.includes(given.backend as BackendName)
  ) {
    problems.push(
      `backend must be one of 'auto', ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}; got ${describe(given.backend)}`,
    )
  }
  for (const key of ['root', 'label']) {
    if (given[key] !== undefined && (typeof given[key] !== 'string' || given[key] === '')) {
      problems.push(`${key} must be a non-empty string, got ${describe(given[key])}`)
    }
  }
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key))
      problems.push(
        `unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`,
      )
  }

  if (problems.length > 0) {
    const list = problems.map((problem) => `  - ${problem}`).join('\n')
    throw new ScratchfsError('EOPTIONS', `invalid scratchfs options:\n${list}`, {
      fix: 'correct the options listed above',
    })
  }
  return given as unknown as ScratchOptions
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value)
}
