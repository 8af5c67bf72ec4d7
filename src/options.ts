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
  /**
   * Where overlay uppers (every write of a view) live. `auto` keeps them in
   * the view dir unless the root's filesystem cannot hold one (overlay, NFS,
   * FUSE), then moves them to a tmpfs; `tmpfs` always does, which makes
   * copy-up about 10x cheaper than on ext4; `disk` never does.
   * @default 'auto'
   */
  upper?: 'auto' | 'disk' | 'tmpfs'
  /**
   * The size limit of that tmpfs, as tmpfs takes it: bytes with an optional
   * k, m or g, or a percentage of RAM. Memory is used only as views write.
   * @default '50%'
   */
  tmpfsSize?: string
  /**
   * Fingerprint every golden tree when the run (or, without the plugin, this
   * process) first uses it, and fail at its end if anything outside the tests
   * changed it, listing the changed paths. Also warns, once per golden, about
   * content that lets a test write outside its view (links out of the golden,
   * device files, setuid bits). Costs one walk of the golden per run.
   * @default false
   */
  verify?: boolean
  /**
   * Abandons the view when aborted (a test's `signal`): a view still being
   * made is taken down instead of handed out, so a timed-out test leaks nothing.
   */
  signal?: AbortSignal
}

const KNOWN = new Set([
  'golden',
  'backend',
  'root',
  'label',
  'upper',
  'tmpfsSize',
  'verify',
  'signal',
])

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
  if (given.upper !== undefined && !['auto', 'disk', 'tmpfs'].includes(given.upper as string)) {
    problems.push(`upper must be 'auto', 'disk' or 'tmpfs'; got ${describe(given.upper)}`)
  }
  if (
    given.tmpfsSize !== undefined &&
    (typeof given.tmpfsSize !== 'string' || !/^[1-9]\d*[kmg%]?$/i.test(given.tmpfsSize))
  ) {
    problems.push(
      `tmpfsSize must be bytes with an optional k, m or g, or a percentage of RAM (e.g. '2g', '25%'); got ${describe(given.tmpfsSize)}`,
    )
  }
  if (given.verify !== undefined && typeof given.verify !== 'boolean') {
    problems.push(`verify must be true or false, got ${describe(given.verify)}`)
  }
  if (given.signal !== undefined && !(given.signal instanceof AbortSignal)) {
    problems.push(`signal must be an AbortSignal, got ${describe(given.signal)}`)
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
