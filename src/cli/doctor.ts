import { parseArgs } from 'node:util'
import { probeOnce } from '../backends/probe.js'
import type { BackendName } from '../backends/types.js'
import { prepareRoot } from '../root.js'

const HELP = `Usage: scratchfs doctor [--json] [--root DIR]

Probes every backend by really mounting, says which one 'auto' picks, and
for each one that does not work here, why and the fix.`

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
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }

  const root = await prepareRoot(values.root)
  const overlay = await probeOnce(root)
  const backends: Entry[] = [
    { name: 'overlay', ok: overlay.ok, reason: overlay.reason ?? null, fix: overlay.fix ?? null },
    { name: 'copy', ok: true, reason: null, fix: null },
  ]
  const chosen = (backends.find((entry) => entry.ok)?.name ?? 'copy') as BackendName

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ chosen, backends }, null, 2)}\n`)
    return 0
  }
  const width = Math.max(...backends.map((entry) => entry.name.length))
  for (const entry of backends) {
    const status = entry.ok ? 'ok ' : 'no '
    process.stdout.write(
      `${entry.name.padEnd(width)}  ${status} ${entry.ok ? '' : `${entry.reason}\n${' '.repeat(width + 6)}fix: ${entry.fix}`}\n`,
    )
  }
  process.stdout.write(`\nauto picks: ${chosen} (scratch root ${root})\n`)
  return 0
}
