import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { show } from '../errors.js'
import { defaultRoot, prepareRoot } from '../root.js'
import { sweep } from '../sweep.js'

const HELP = `Usage: scratchfs clean [--root DIR] [--dry-run]

Unmounts and deletes what dead runs left behind under the scratch root, and
kept views of finished runs. Only this user's scratchfs- dirs are touched.`

export async function clean(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }

  const dryRun = values['dry-run'] ?? false
  // Cleaning makes nothing: a root that is not there has nothing to clean,
  // and one given by hand that is not there is most likely mistyped.
  const own = values.root === undefined ? defaultRoot() : undefined
  if (own !== undefined && !existsSync(own)) {
    process.stdout.write(`scratchfs clean: nothing to remove, ${show(own)} does not exist\n`)
    return 0
  }
  const root = await prepareRoot(values.root, [], { flag: '--root DIR', create: false })
  const swept = await sweep(root, { dryRun })
  for (const { dir, why, heldBy } of swept) {
    // Quoted: a root may hold newlines, and one line is one view.
    if (heldBy) process.stdout.write(`detached ${show(dir)} (${why}); still held: ${heldBy}\n`)
    else process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${show(dir)} (${why})\n`)
  }
  const held = swept.filter((entry) => entry.heldBy).length
  const count = swept.length - held
  const tail = held > 0 ? `, ${held} still held (removed by a later clean once they exit)` : ''
  process.stdout.write(
    `scratchfs clean: ${count} ${dryRun ? 'to remove' : 'removed'}${tail} under ${show(root)}\n`,
  )
  return 0
}
