// `npm run example`: builds the golden if needed, runs the suite on views of
// it, then checks what the run promised: the golden is byte-identical, no
// mount is left under the scratch root, and no view dir but kept ones.
//
//   MONOREPO_BACKEND=copy npm run example    the same suite on full copies

import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { differences, fingerprint } from './fingerprint.js'
import { ensureGolden, goldenInfo } from './golden.js'

const here = dirname(fileURLToPath(import.meta.url))
const project = join(here, '..', '..')
const root = process.env.MONOREPO_ROOT ?? join(tmpdir(), `scratchfs-monorepo-${process.getuid()}`)
const say = (line) => console.log(`example: ${line}`)
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`

const started = performance.now()
const { path: golden, built } = await ensureGolden({ log: say })
const info = goldenInfo()
say(
  `golden ${golden}: ${info.files} files, ${(info.bytes / 1e6).toFixed(1)} MB, ${info.links} links, ` +
    `${info.commits} commits (${built ? `built in ${info.buildSeconds} s` : 'cached'})`,
)

let hashed = performance.now()
const before = await fingerprint(golden)
say(`fingerprinted the golden in ${seconds(hashed)}`)

const suite = performance.now()
const { code, output } = await runVitest()
say(`suite finished in ${seconds(suite)} (exit code ${code})`)

const problems = []
hashed = performance.now()
const after = await fingerprint(golden)
if (after.hash === before.hash) {
  say(
    `golden unchanged: ${after.files} files, fingerprint ${after.hash.slice(0, 16)} (${seconds(hashed)})`,
  )
} else {
  const changed = differences(before, after)
  problems.push(
    `the golden changed in ${changed.length} places: ${changed.slice(0, 10).join(', ')}`,
  )
}

const mounts = await mountsUnder(root)
if (mounts.length === 0) say(`no mount left under ${root}`)
else problems.push(`mounts left under ${root}: ${mounts.join(', ')}`)

// A failed test keeps its view, announced as `scratchfs: kept <dir>/kept`.
const kept = new Set(
  [...output.matchAll(/^scratchfs: kept (.+)$/gm)].map((match) => dirname(match[1].trim())),
)
const views = (await readdir(root).catch(() => [])).filter((name) => name.startsWith('scratchfs-'))
const stray = views.filter((name) => !kept.has(join(root, name)))
if (stray.length === 0) say(`no view dirs left under ${root} (${kept.size} kept for failed tests)`)
else problems.push(`view dirs left under ${root}: ${stray.join(', ')}`)

for (const problem of problems) console.error(`example: FAILED: ${problem}`)
say(`${problems.length === 0 && code === 0 ? 'passed' : 'FAILED'} in ${seconds(started)}`)
process.exitCode = code !== 0 ? code : problems.length > 0 ? 1 : 0

/** Runs the repo's own Vitest on the example, its output passed through and kept. */
function runVitest() {
  const require = createRequire(join(project, 'package.json'))
  const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs')
  const child = spawn(
    process.execPath,
    [vitest, 'run', '--config', join(here, 'vitest.config.ts')],
    {
      cwd: project,
      env: { ...process.env, MONOREPO_ROOT: root },
      stdio: ['inherit', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk)
    output += chunk
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (status, signal) => resolve({ code: status ?? (signal ? 1 : 0), output }))
  })
}

/** Mount points at or below `dir`, from the kernel's own table. */
async function mountsUnder(dir) {
  const table = await readFile('/proc/self/mountinfo', 'utf8')
  return table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter(Boolean)
    .map((field) =>
      field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
}
