#!/usr/bin/env node
// monorepo-tool: renames, bumps, moves and inspects the packages of an
// npm-workspaces monorepo. Run it anywhere inside the repo.

import { bump } from './src/bump.js'
import { check } from './src/check.js'
import { ToolError } from './src/errors.js'
import { buildOrder, dependents, edges } from './src/graph.js'
import { move } from './src/move.js'
import { rename } from './src/rename.js'
import { loadWorkspace } from './src/workspace.js'

const USAGE = `usage: monorepo-tool <command> [--json] [--cwd DIR]

  list                        the workspace packages: name, version, directory
  graph [--order]             dependency edges between them, or a build order
  dependents <pkg> [--transitive]
  check                       ranges met, lock file and node_modules in step
  bump <pkg> <version>        set a version and move dependents' ranges along
  rename <old> <new>          rename a package everywhere it is named
  move <pkg> <dir>            move a package's directory`

const COMMANDS = {
  list: [0, (ws) => ws.members.map(({ name, version, dir }) => ({ name, version, dir }))],
  graph: [0, (ws, _, flags) => (flags.order ? buildOrder(ws) : edges(ws))],
  dependents: [1, (ws, [name], flags) => dependents(ws, name, flags.transitive)],
  check: [0, (ws) => check(ws)],
  bump: [2, (ws, [name, version]) => bump(ws, name, version)],
  rename: [2, (ws, [from, to]) => rename(ws, from, to)],
  move: [2, (ws, [name, dir]) => move(ws, name, dir)],
}

function parse(argv) {
  const flags = { json: false, order: false, transitive: false, cwd: process.cwd() }
  const words = []
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]
    if (word === '--cwd') flags.cwd = argv[++index]
    else if (word.startsWith('--') && word.slice(2) in flags) flags[word.slice(2)] = true
    else if (word.startsWith('--')) throw new UsageError(`unknown option ${word}`)
    else words.push(word)
  }
  const [command, ...args] = words
  const entry = COMMANDS[command]
  if (!entry) throw new UsageError(command ? `unknown command ${command}` : 'no command given')
  if (args.length !== entry[0]) {
    throw new UsageError(`${command} takes ${entry[0]} argument(s), got ${args.length}`)
  }
  return { run: entry[1], args, flags, command }
}

class UsageError extends Error {}

function print(command, result) {
  if (command === 'list') {
    for (const { name, version, dir } of result) console.log(`${name}@${version} ${dir}`)
  } else if (command === 'graph' && Array.isArray(result)) {
    for (const edge of result)
      console.log(`${edge.from} -> ${edge.to} (${edge.field} ${edge.range})`)
  } else if (command === 'graph') {
    for (const name of result.order) console.log(name)
    if (result.cycle.length > 0) console.log(`cycle: ${result.cycle.join(', ')}`)
  } else if (command === 'dependents') {
    for (const name of result) console.log(name)
  } else if (command === 'check') {
    for (const problem of result) console.log(problem)
    if (result.length === 0) console.log('ok')
  } else {
    const { files, external = [], ...rest } = result
    console.log(`${command}: ${JSON.stringify(rest)}`)
    for (const file of files) console.log(`  wrote ${file}`)
    for (const entry of external) {
      const why =
        command === 'bump'
          ? `wants ${rest.name}@${entry.range}, which ${rest.to} does not meet`
          : `still names ${rest.from}`
      console.error(`warning: ${entry.package} (published) ${why} in ${entry.field}`)
    }
  }
}

try {
  const { run, args, flags, command } = parse(process.argv.slice(2))
  const workspace = await loadWorkspace(flags.cwd)
  const result = await run(workspace, args, flags)
  if (flags.json) console.log(JSON.stringify(result, null, 2))
  else print(command, result)
  if (command === 'check' && result.length > 0) process.exitCode = 1
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`monorepo-tool: ${error.message}\n\n${USAGE}`)
    process.exitCode = 2
  } else if (error instanceof ToolError) {
    console.error(`monorepo-tool: ${error.message}`)
    process.exitCode = 1
  } else {
    throw error
  }
}
