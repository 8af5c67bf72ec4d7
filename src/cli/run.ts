import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readdir, readFile, readlink } from 'node:fs/promises'
import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { checkNamespace, UNSHARE_ARGS } from '../userns.js'

const HELP = `Usage: scratchfs run [--] <command...>

Runs the command in a private user + mount namespace (util-linux unshare),
so a user without root gets kernel overlay views: backend 'auto' picks the
overlay there, mounted with userxattr. Mounts made inside never show on the
host and die with the command: processes it leaves behind are killed when
it exits.

Inside, the command keeps your own uid and gid (unshare --map-current-user
--keep-caps), not root's: files it writes belong to you and permission
tests behave as outside. Views stay under your own scratch root.

Environment, stdin/stdout/stderr and signals pass through. The exit code is
the command's, 128+n when signal n ended it, and 125 when the namespace
could not be made (the reason and the fix are printed).

Example: npx scratchfs run -- npx vitest run`

/** Exit code when scratchfs itself failed, as env(1) and timeout(1) use it. */
const OWN_FAILURE = 125

/** Signals passed on to the command. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const

/** Ctrl-C and Ctrl-\ from a terminal reach the whole foreground group. */
const FROM_TERMINAL = new Set(['SIGINT', 'SIGQUIT'])

export async function run(args: string[]): Promise<number> {
  const command = args[0] === '--' ? args.slice(1) : args
  if (command.length === 0 || (args[0] !== '--' && /^(-h|--help)$/.test(command[0] ?? ''))) {
    process.stdout.write(`${HELP}\n`)
    return command.length === 0 ? 2 : 0
  }

  const check = await checkNamespace()
  if (!check.ok) {
    process.stderr.write(
      `scratchfs run: cannot run ${JSON.stringify(command.join(' '))} in a private namespace: ${check.reason}\nFix: ${check.fix}, or run the command without 'scratchfs run' and backend: 'copy'\n`,
    )
    return OWN_FAILURE
  }
  return runInNamespace(command)
}

function runInNamespace(command: string[]): Promise<number> {
  const child = spawn('unshare', [...UNSHARE_ARGS, '--', ...command], { stdio: 'inherit' })
  const namespace = namespaceOf(child.pid)

  const forward = (signal: NodeJS.Signals) => {
    // A signal from the terminal already reached the command, which shares
    // our process group; sending it again would count as a second Ctrl-C.
    if (FROM_TERMINAL.has(signal) && inForegroundGroup()) return
    child.kill(signal)
  }
  for (const signal of FORWARDED) process.on(signal, forward)

  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`scratchfs run: cannot start unshare: ${error.message}\n`)
      resolve(OWN_FAILURE)
    })
    child.once('exit', async (code, signal) => {
      for (const name of FORWARDED) process.off(name, forward)
      await killLeftovers(await namespace)
      resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? OWN_FAILURE))
    })
  })
}

/**
 * The user namespace the command runs in, read once unshare has made it
 * (within a millisecond or two of the spawn). Undefined if it never did.
 */
async function namespaceOf(pid: number | undefined): Promise<string | undefined> {
  if (pid === undefined) return undefined
  const own = await readlink('/proc/self/ns/user').catch(() => undefined)
  for (let tries = 0; tries < 500; tries++) {
    const theirs = await readlink(`/proc/${pid}/ns/user`).catch(() => undefined)
    if (theirs === undefined) return undefined
    if (theirs !== own) return theirs
    await sleep(1)
  }
  return undefined
}

/**
 * Kills what the command left running in its namespace (a server a test
 * forgot): while any of it lives, so do the namespace's mounts. Only
 * processes this run started can be in that namespace.
 */
async function killLeftovers(namespace: string | undefined): Promise<void> {
  if (namespace === undefined) return
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name))
  const left: number[] = []
  await Promise.all(
    pids.map(async (pid) => {
      if ((await readlink(`/proc/${pid}/ns/user`).catch(() => '')) !== namespace) return
      // A zombie holds no mounts: it is only waiting to be reaped.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
      if (!/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) left.push(Number(pid))
    }),
  )
  const names = await Promise.all(left.map((pid) => commandName(pid)))
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  if (left.length > 0) {
    const list = left.map((pid, index) => `${pid} ${names[index]}`).join(', ')
    process.stderr.write(
      `scratchfs run: killed what the command left running in its namespace (${list}), so its mounts end with it\n`,
    )
  }
}

async function commandName(pid: number): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.split('\0').filter(Boolean).join(' ').slice(0, 80) || '?'
}

// /proc/self/stat: after the command name come state, ppid, pgrp, session,
// tty_nr and tpgid (the terminal's foreground group, -1 without a terminal).
function inForegroundGroup(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[2] === fields[5] && fields[5] !== '-1'
  } catch {
    return false
  }
}
