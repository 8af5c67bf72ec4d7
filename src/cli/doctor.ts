import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execa } from 'execa'
import { copy } from '../backends/copy.js'
import { type ProbeResult, probeOnce, probeOverlay } from '../backends/probe.js'
import { inContainer } from '../host.js'
import { PREFIX, prepareRoot } from '../root.js'
import { planUppers, type UpperPlan } from '../upper.js'
import { checkNamespace, UNSHARE_ARGS } from '../userns.js'

const HELP = `Usage: scratchfs doctor [--json] [--root DIR]

Probes every backend by really mounting (the namespace one under unshare,
as 'scratchfs run' would), says which one backend 'auto' picks here, and
for each one that does not work, why and the one-line fix. Exits 0 when it
could probe, whatever works.

  --json       print only { chosen, backends: [{ name, ok, reason, fix }] }
  --root DIR   probe with views under DIR (default: your scratch root)`

/** The name of the entry for an overlay mounted inside `scratchfs run`. */
export const IN_NAMESPACE = 'overlay (scratchfs run)'

interface Entry {
  name: string
  ok: boolean
  reason: string | null
  fix: string | null
}

export async function doctor(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      root: { type: 'string' },
      // Internal: what `doctor` runs inside the namespace it probes.
      'probe-overlay': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }

  const root = await prepareRoot(values.root, [], { flag: '--root DIR' })
  const plan = await planUppers(root, {})
  if (values['probe-overlay']) {
    process.stdout.write(`${JSON.stringify(await probeOverlay(root, plan))}\n`)
    return 0
  }

  const [overlay, namespaced, fuse, copied] = await Promise.all([
    probeOnce(root, 'overlay', plan),
    probeInNamespace(root),
    probeOnce(root, 'fuse-overlayfs', plan),
    probeCopy(root),
  ])
  const backends = [
    entry(overlay.ok ? overlay : { ...overlay, fix: overlayFix(overlay, namespaced.ok) }),
    entry(namespaced),
    entry(fuse),
    entry(copied),
  ]
  const chosen = backends.find((b) => b.ok && b.name !== IN_NAMESPACE)?.name ?? 'copy'

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ chosen, backends }, null, 2)}\n`)
    return 0
  }
  process.stdout.write(table(backends))
  process.stdout.write(`\nauto picks: ${chosen} (scratch root ${root}${where(plan)})\n`)
  if (!overlay.ok && namespaced.ok) {
    process.stdout.write(
      'for kernel overlays, run the tests as: npx scratchfs run -- npx vitest run\n',
    )
  }
  return 0
}

function entry(result: Pick<ProbeResult, 'ok' | 'reason' | 'fix'> & { name: string }): Entry {
  if (result.ok) return { name: result.name, ok: true, reason: null, fix: null }
  return {
    name: result.name,
    ok: false,
    reason: result.reason ?? 'unknown',
    fix: result.fix ?? null,
  }
}

function where(plan: UpperPlan): string {
  return plan.home ? `, uppers on tmpfs ${plan.home}` : ''
}

// A failed overlay mount has one right fix, and which it is depends on
// where we are: a namespace that works, a container, or neither.
function overlayFix(result: ProbeResult, namespaceWorks: boolean): string | undefined {
  if (!/permission|not permitted|EPERM|EACCES|superuser/i.test(result.reason ?? '')) {
    return result.fix
  }
  if (namespaceWorks) return "run the tests under 'scratchfs run -- <command>', or as root (sudo)"
  if (inContainer()) {
    return 'docker run --cap-add SYS_ADMIN --security-opt apparmor=unconfined (or --privileged)'
  }
  return "run the tests as root (sudo -E npx vitest run), or use backend: 'copy'"
}

/**
 * The overlay probe, run where `scratchfs run` would run the tests: in a
 * fresh user + mount namespace, by this same CLI.
 */
async function probeInNamespace(root: string): Promise<ProbeResult & { name: string }> {
  const name = IN_NAMESPACE
  const check = await checkNamespace()
  if (!check.ok) return { ...check, ok: false, name: name as ProbeResult['name'] }

  const cli = fileURLToPath(new URL('./main.js', import.meta.url))
  const result = await execa(
    'unshare',
    [...UNSHARE_ARGS, '--', process.execPath, cli, 'doctor', '--probe-overlay', '--root', root],
    { reject: false, stdin: 'ignore' },
  )
  try {
    const inner = JSON.parse(result.stdout) as ProbeResult
    return { ...inner, name: name as ProbeResult['name'] }
  } catch {
    const why = result.stderr.trim().split('\n')[0] || `exit code ${result.exitCode}`
    return {
      name: name as ProbeResult['name'],
      ok: false,
      reason: `the probe in the namespace failed: ${why}`,
    }
  }
}

/** Copy needs no mount, but it does need a root it can write and read back. */
async function probeCopy(root: string): Promise<ProbeResult> {
  const dir = await mkdtemp(join(root, `${PREFIX}probe-`))
  try {
    const lower = join(dir, 'lower')
    await mkdir(lower)
    await writeFile(join(lower, 'golden'), 'golden')
    const view = { dir, merged: join(dir, 'merged'), upper: '', work: '', layers: [lower] }
    await copy.create(view)
    if ((await readFile(join(view.merged, 'golden'), 'utf8')) !== 'golden') {
      throw new Error('the copy does not hold what the golden holds')
    }
    return { name: 'copy', ok: true }
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]
    return { name: 'copy', ok: false, reason, fix: 'pass a root you can write to (--root DIR)' }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function table(entries: readonly Entry[]): string {
  const width = Math.max(...entries.map((e) => e.name.length))
  const pad = ' '.repeat(width + 8)
  return entries
    .map((e) => {
      const head = `${e.name.padEnd(width)}  ${e.ok ? 'ok  ' : 'no  '}`
      if (e.ok) return `${head}\n`
      return `${head}  ${e.reason}\n${pad}fix: ${e.fix ?? 'none known'}\n`
    })
    .join('')
}
