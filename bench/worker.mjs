// One batch of views for one contender, in a fresh process: prints the
// milliseconds of each view (create, write one file, dispose) as JSON.
// Like a real test, each holds its view a moment (HOLD_MS, not counted):
// work scratchfs leaves for later (deleting a disposed view, making the
// next one) gets its chance to run. `starts` and `end` time the batch up to the
// moment nothing is left to do (`end`); less the holds, it is everything
// included, background work too, unless it ran while a test held its view.
// Usage: node bench/worker.mjs <contender> <golden> <root> <count> [--memory]
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { getHeapSpaceStatistics } from 'node:v8'

const [contender, golden, root, countText] = process.argv.slice(2)
const count = Number(countText)
const memory = process.argv.includes('--memory')
const run = promisify(execFile)

/** How long each test holds its view, between the write and dispose. */
const HOLD_MS = 2
/** Views after which memory is sampled (and after the last). */
const SAMPLES = new Set([100, 1000, 2000, 3500])

const scratchOptions = {
  'overlay-disk': { backend: 'overlay', upper: 'disk' },
  'overlay-tmpfs': { backend: 'overlay', upper: 'tmpfs' },
  'overlay-spawn': { backend: 'overlay', upper: 'disk' },
  'overlay-nopool': { backend: 'overlay', upper: 'disk' },
  'fuse-overlayfs': { backend: 'fuse-overlayfs' },
  copy: { backend: 'copy' },
}

/** Each contender as make() -> { path, dispose() }. */
async function contenderFor(name) {
  if (scratchOptions[name]) {
    const { createScratch } = await import('../dist/index.js')
    const options = { golden, root, label: 'bench', ...scratchOptions[name] }
    return async () => {
      const scratch = await createScratch(options)
      return { path: scratch.path, dispose: () => scratch.dispose() }
    }
  }
  if (name === 'fs-fixture') {
    const { createFixture } = await import('fs-fixture')
    return async () => {
      const fixture = await createFixture(golden, { tempDir: root })
      return { path: fixture.path, dispose: () => fixture.rm() }
    }
  }
  const copyWith = {
    'fs-extra': async (to) => {
      const { default: fse } = await import('fs-extra')
      await fse.copy(golden, to, { dereference: false, preserveTimestamps: true })
    },
    'cp -a': (to) => run('cp', ['-a', '--', `${golden}/.`, to]),
  }[name]
  if (!copyWith) throw new Error(`unknown contender ${name}`)
  return async () => {
    const path = await mkdtemp(join(root, 'peer-'))
    await copyWith(path)
    return { path, dispose: () => rm(path, { recursive: true, force: true }) }
  }
}

const make = await contenderFor(contender)
const settle = scratchOptions[contender]
  ? (await import('../dist/index.js')).settle
  : async () => {}
const times = []
const waits = []
const starts = []
const holds = []
const usage = []
const started = performance.now()
for (let index = 0; index < count; index++) {
  const begin = performance.now()
  starts.push(begin)
  const view = await make()
  const ready = performance.now()
  await writeFile(join(view.path, 'bench-written.txt'), `view ${index}\n`)
  const written = performance.now()
  await sleep(HOLD_MS)
  const held = performance.now()
  holds.push(held - written)
  await view.dispose()
  times.push(written - begin + (performance.now() - held))
  waits.push(ready - begin)
  if (memory && (SAMPLES.has(index + 1) || index === count - 1)) {
    globalThis.gc?.()
    const { rss, heapTotal, heapUsed, external } = process.memoryUsage()
    // V8 doubles its young generation once enough has survived scavenges,
    // however little stays alive: shown apart from the old space.
    const space = (name) =>
      getHeapSpaceStatistics().find((entry) => entry.space_name === name)?.space_size ?? 0
    const young = space('new_space')
    const old = space('old_space')
    usage.push({ after: index + 1, rss, heapTotal, heapUsed, external, young, old })
  }
}
await settle()
const end = performance.now()
const wall = end - started
process.stdout.write(
  `${JSON.stringify({ contender, times, waits, wall, starts, holds, end, usage })}\n`,
)
