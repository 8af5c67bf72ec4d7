import { readdir, readFile, readlink } from 'node:fs/promises'
import { sep } from 'node:path'
import { startTimeOf } from '../proc.js'

export interface Holder {
  pid: number
  /** Its start time: with the pid it names the process for good. */
  start: string | undefined
  command: string
  /** What it holds: cwd, root, or an open file's path. */
  what: string
}

/**
 * Processes whose cwd, root or open files are inside a path: they are why an
 * unmount says "target is busy", and naming them is the useful part of that
 * error.
 */
export async function findHolders(path: string): Promise<Holder[]> {
  const inside = (target: string) => target === path || target.startsWith(path + sep)
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name))
  const holders: Holder[] = []

  await Promise.all(
    pids.map(async (pid) => {
      const links = ['cwd', 'root']
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [])
      links.push(...fds.map((fd) => `fd/${fd}`))
      for (const link of links) {
        const target = await readlink(`/proc/${pid}/${link}`).catch(() => '')
        if (!inside(target)) continue
        holders.push({
          pid: Number(pid),
          start: startTimeOf(Number(pid)),
          command: await commandOf(pid),
          what: `${link} ${target}`,
        })
        return
      }
    }),
  )
  return holders.sort((a, b) => a.pid - b.pid)
}

async function commandOf(pid: string): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.split('\0').filter(Boolean).join(' ').slice(0, 120) || '?'
}

export function describeHolders(holders: readonly Holder[]): string {
  return holders
    .map((holder) => `pid ${holder.pid} (${holder.command}) holds ${holder.what}`)
    .join('; ')
}

/**
 * Waits up to `patienceMs` for every process to let go of a path; returns
 * those that still hold it.
 */
export async function waitForRelease(path: string, patienceMs: number): Promise<Holder[]> {
  const deadline = Date.now() + patienceMs
  for (;;) {
    const holders = await findHolders(path)
    if (holders.length === 0 || Date.now() >= deadline) return holders
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
