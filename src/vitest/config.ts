import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vitest/config'
import type { TestProject, Vitest } from 'vitest/node'
import { type ProbeResult, probeOnce } from '../backends/probe.js'
import { debug } from '../debug.js'
import { ScratchfsError } from '../errors.js'
import { takeDownThreadViewsAtExit } from '../exit.js'
import { resolveGolden } from '../golden.js'
import { checkOptions, type ScratchOptions } from '../options.js'
import { currentOwner } from '../proc.js'
import { prepareRoot } from '../root.js'
import { sweep } from '../sweep.js'
import { guardGoldens } from './golden.js'
import { PLUGIN_ENV, PROVIDE_KEY, type Provided } from './provided.js'
import { SummaryReporter } from './summary.js'

const log = debug('plugin')

/** Defaults for every scratch fixture and `scratchfs` environment of the run. */
export type ScratchfsPluginOptions = Partial<
  Pick<ScratchOptions, 'golden' | 'backend' | 'root' | 'verify'>
> & {
  /**
   * Print one line at the end of the run: views made, backend, median
   * setup+teardown, views kept, views still busy (detached while a process
   * held them, left for `scratchfs clean`) and views left over (leaks).
   * @default true
   */
  summary?: boolean
}

/**
 * The Vitest plugin: sets defaults for every `scratch` fixture and the
 * `scratchfs` environment, probes the backend once for all workers, sweeps
 * what crashed runs left under the root, and prints a summary line at the
 * end of the run. Importing it does not load the test runtime.
 *
 * @example
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config'
 * import { scratchfs } from 'scratchfs/config'
 *
 * export default defineConfig({
 *   plugins: [scratchfs({ golden: 'fixtures/repo' })],
 * })
 */
export function scratchfs(options: ScratchfsPluginOptions = {}): Plugin {
  const { summary = true, ...defaults } = checkPluginOptions(options)
  let started: Promise<Provided> | undefined

  return {
    name: 'scratchfs',
    config: () => ({
      // Lets the `scratchfs` environment keep the view of a file whose test failed.
      test: { setupFiles: [fileURLToPath(new URL('./environment-failures.js', import.meta.url))] },
    }),
    async configureVitest({ vitest, project }) {
      // Called once per project: the run-wide work happens once.
      started ??= start(vitest, project, defaults, summary)
      const provided: Provided = { ...(await started), base: project.config.root }
      project.provide(PROVIDE_KEY, provided)
      // The environment is set up before inject works: it reads this
      // project's settings from its workers' environment instead.
      project.config.env = { ...project.config.env, [PLUGIN_ENV]: JSON.stringify(provided) }
    },
  }
}

async function start(
  vitest: Vitest,
  project: TestProject,
  given: Omit<ScratchfsPluginOptions, 'summary'>,
  summary: boolean,
): Promise<Provided> {
  const startedAt = Date.now()
  const base = project.config.root
  const defaults = {
    ...given,
    ...(given.golden !== undefined && { golden: resolveLayers(base, given.golden) }),
    ...(given.root !== undefined && { root: resolve(base, given.root) }),
  }
  // The golden may not exist yet (a globalSetup can build it): then the
  // fixtures report it, and the root is only checked against what exists.
  const layers = defaults.golden ? await resolveGolden(defaults.golden).catch(() => []) : []
  const root = await prepareRoot(defaults.root, layers, {
    flag: 'the root option of scratchfs() in vitest.config',
  })

  // Name the run for the workers, so their kept views outlive them.
  const run = currentOwner()
  process.env.SCRATCHFS_RUN = `${run.pid}:${run.start ?? ''}`

  const swept = await sweep(root)
  log('swept %d leftovers under %s', swept.length, root)
  takeDownThreadViewsAtExit(root)
  const goldenReporter = await guardGoldens(defaults.golden, defaults.verify ?? false)
  if (goldenReporter) vitest.config.reporters.push(goldenReporter)

  let probe: ProbeResult | undefined
  if (defaults.backend !== 'copy') probe = await probeOnce(root)
  const provided: Provided = {
    defaults,
    ...(probe && { probe: { root, result: probe } }),
    base,
    startedAt,
  }
  process.env[PLUGIN_ENV] = JSON.stringify(provided)

  if (summary) {
    const chosen = () => (defaults.backend === 'copy' || !probe?.ok ? 'copy' : 'overlay')
    // configureVitest runs before Vitest creates its reporters from this list.
    vitest.config.reporters.push(new SummaryReporter(root, run, chosen))
  }
  return provided
}

function resolveLayers(base: string, golden: string | readonly string[]): string | string[] {
  return typeof golden === 'string'
    ? resolve(base, golden)
    : golden.map((layer) => resolve(base, layer))
}

function checkPluginOptions(options: unknown): ScratchfsPluginOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ScratchfsError(
      'EOPTIONS',
      `scratchfs() needs an options object, got ${String(options)}`,
      {
        fix: "call scratchfs({ golden: 'path/to/golden' }) in the plugins of vitest.config",
      },
    )
  }
  const { summary, label, ...shared } = options as Record<string, unknown>
  const problems: string[] = []
  if (summary !== undefined && typeof summary !== 'boolean') {
    problems.push(`summary must be true or false, got ${String(summary)}`)
  }
  if (label !== undefined) {
    problems.push('label is per view: the fixture names each view after its test')
  }
  try {
    // The plugin may leave golden to the fixtures; check the rest as createScratch would.
    checkOptions({ ...shared, golden: shared.golden ?? '.' })
  } catch (error) {
    if (!(error instanceof ScratchfsError)) throw error
    problems.push(
      ...error.message
        .split('\n')
        .filter((line) => line.startsWith('  - '))
        .map((line) => line.slice(4)),
    )
  }
  if (problems.length > 0) {
    const list = problems.map((problem) => `  - ${problem}`).join('\n')
    throw new ScratchfsError('EOPTIONS', `invalid options for the scratchfs() plugin:\n${list}`, {
      fix: 'correct the options listed above',
    })
  }
  return options as ScratchfsPluginOptions
}
