#!/usr/bin/env node
// Median setup+teardown of one view, for one backend and upper placement.
// Not a test: scripts/measure-backends.sh runs it in every environment.
// usage: measure-view.mjs <golden> <root> <backend> <disk|tmpfs> [views]
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createScratch } from '../dist/index.js'

const [golden, root, backend, upper, count = '30'] = process.argv.slice(2)
const times = []
for (let index = 0; index < Number(count) + 3; index++) {
  const started = performance.now()
  const scratch = await createScratch({
    golden,
    root,
    backend,
    upper: upper === 'tmpfs' ? 'tmpfs' : 'disk',
  })
  // A small test's worth of work: rewrite five golden files, add five.
  for (let file = 0; file < 5; file++) {
    const path = join(scratch.path, `pkg${file}`, 'src', 'file0.js')
    await writeFile(path, `${await readFile(path, 'utf8')}// changed\n`)
    await writeFile(join(scratch.path, `added${file}.txt`), 'new')
  }
  const used = scratch.backend
  await scratch.dispose()
  // The first views warm the probe and the tmpfs: leave them out.
  if (index >= 3) times.push(performance.now() - started)
  if (used !== backend) throw new Error(`asked for ${backend}, got ${used}`)
}
times.sort((a, b) => a - b)
const median = times[Math.floor(times.length / 2)]
process.stdout.write(
  `${JSON.stringify({ backend, upper, views: times.length, medianMs: Number(median.toFixed(1)) })}\n`,
)
