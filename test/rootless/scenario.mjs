// Run as the plain user (usually under `scratchfs run`): makes a view of a
// golden and prints what it saw as one JSON line. argv: build golden [root]
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [build, golden, root] = process.argv.slice(2)
const { createScratch } = await import(join(build, 'dist/index.js'))
const scratch = await createScratch({ golden, ...(root ? { root } : {}) })

writeFileSync(join(scratch.path, 'new.txt'), 'mine')
unlinkSync(join(scratch.path, 'gone.txt'))
let writeDenied = false
try {
  writeFileSync(join(scratch.path, 'root-only.txt'), 'x')
} catch (error) {
  writeDenied = error.code === 'EACCES'
}
const mount = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .find((line) => line.split(' ')[4] === scratch.path)

const seen = {
  backend: scratch.backend,
  path: scratch.path,
  uid: process.getuid(),
  fileUid: statSync(join(scratch.path, 'new.txt')).uid,
  writeDenied,
  superOptions: mount?.split(' - ')[1]?.split(' ')[2] ?? '',
  changes: await scratch.changes(),
}
await scratch.dispose()
process.stdout.write(`${JSON.stringify(seen)}\n`)
