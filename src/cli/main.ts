#!/usr/bin/env node
import { readFileSync } from 'node:fs'

const USAGE = `Usage: scratchfs <command> [options]

Commands:
  doctor [--json] [--root DIR]     which backends work here, and how to fix the others
  clean [--root DIR] [--dry-run]   unmount and delete what dead runs left, and kept views
  run -- <command...>              run a command in a private user + mount namespace

Options:
  -h, --help      this text
  -v, --version   the version of scratchfs

Run 'scratchfs <command> --help' for a command's options.`

type Command = (args: string[]) => Promise<number>

const commands: Record<string, () => Promise<Command>> = {
  doctor: async () => (await import('./doctor.js')).doctor,
  clean: async () => (await import('./clean.js')).clean,
  run: async () => (await import('./run.js')).run,
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`)
    return name === undefined ? 1 : 0
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  const load = commands[name]
  if (!load) {
    process.stderr.write(`scratchfs: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`)
    return 2
  }
  return (await load())(rest)
}

// The package's own package.json, two levels up from dist/cli/main.js.
function version(): string {
  const manifest = new URL('../../package.json', import.meta.url)
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`scratchfs: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
