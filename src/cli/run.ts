import { execa } from 'execa'

const HELP = `Usage: scratchfs run -- <command...>

Runs the command in a private user + mount namespace, so a user without
root gets kernel overlay views; every mount dies with the command.`

export async function run(args: string[]): Promise<number> {
  const command = args[0] === '--' ? args.slice(1) : args
  if (command.length === 0 || command[0] === '--help' || command[0] === '-h') {
    process.stdout.write(`${HELP}\n`)
    return command.length === 0 ? 2 : 0
  }
  const result = await execa(
    'unshare',
    ['--user', '--map-current-user', '--keep-caps', '--mount', '--', ...command],
    {
      stdio: 'inherit',
      reject: false,
      env: { SCRATCHFS_REAL_UID: String(process.getuid?.() ?? '') },
    },
  )
  return result.exitCode ?? 1
}
