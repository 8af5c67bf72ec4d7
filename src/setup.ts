import { copy } from './backends/copy.js'
import { chooseBackend } from './backends/probe.js'
import type { Backend } from './backends/types.js'
import { baseOf } from './base.js'
import { debug } from './debug.js'
import { show } from './errors.js'
import { forgetGoldens, type GoldenLayer, resolveGoldenOnce } from './golden.js'
import { colonRefusal } from './mount/fuse.js'
import { checkLimits } from './mount/mount.js'
import type { ScratchOptions } from './options.js'
import { type Owner, runOwner } from './proc.js'
import { checkApart, forgetRoots, prepareRootOnce } from './root.js'
import { planUppers, type UpperPlan } from './upper.js'

/** What every view of one golden and root shares. */
export interface Setup {
  layers: GoldenLayer[]
  root: string
  plan: UpperPlan
  backend: Backend
  run: Owner
}

const log = debug('setup')

const plans = new Map<string, UpperPlan>()

/**
 * The checks and choices before a view is made, each done once per
 * process and kept: the golden and the root must not change during a run,
 * and the probe runs once anyway. A failed view calls forgetSetups(), so
 * the next one checks everything again and fails with the clear error.
 */
export async function setUp(options: ScratchOptions): Promise<Setup> {
  // The golden first: a bad one must not leave a new root behind, and the
  // root is checked against it before it is created.
  const base = baseOf(options)
  const layers = await resolveGoldenOnce(options.golden, base)
  const root = await prepareRootOnce(options.root, layers, base)
  checkApart(root, layers)
  checkLimits(layers.map((layer) => layer.path))

  const plan = options.backend === 'copy' ? {} : await planOnce(root, options)
  const backend = fuseCanTake(
    layers,
    await chooseBackend(options.backend ?? 'auto', root, plan),
    options.backend === 'fuse-overlayfs',
  )
  return { layers, root, plan, backend, run: runOnce() }
}

// The probe has checked the root; a golden with ':' in its realpath is
// refused by its own name, and `auto` copies it instead.
function fuseCanTake(layers: readonly GoldenLayer[], backend: Backend, asked: boolean): Backend {
  if (backend.name !== 'fuse-overlayfs') return backend
  const refused = colonRefusal(
    layers.map((layer) => ({
      path: layer.path,
      name: `golden ${layer.shown}${layer.path === layer.absolute ? '' : `, realpath ${show(layer.path)}`}`,
    })),
  )
  if (!refused) return backend
  if (asked) throw refused
  log('auto: fuse-overlayfs cannot take %s, copying', refused.path)
  return copy
}

export function forgetSetups(): void {
  forgetGoldens()
  forgetRoots()
  plans.clear()
}

// Where uppers go depends on the root's filesystem, which stays put.
async function planOnce(root: string, options: ScratchOptions): Promise<UpperPlan> {
  const key = `${root}\0${options.upper ?? 'auto'}\0${options.tmpfsSize ?? ''}`
  const known = plans.get(key)
  if (known) return known
  const plan = await planUppers(root, options)
  if (plans.size >= 64) plans.delete(plans.keys().next().value ?? '')
  plans.set(key, plan)
  return plan
}

let run: { key: string; owner: Owner } | undefined

// The run's owner reads /proc; it changes only with the pid, the parent or
// SCRATCHFS_RUN.
function runOnce(): Owner {
  const key = `${process.pid}:${process.ppid}:${process.env.SCRATCHFS_RUN ?? ''}`
  if (run?.key !== key) run = { key, owner: runOwner() }
  return run.owner
}
