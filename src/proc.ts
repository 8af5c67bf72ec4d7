import { readFileSync } from 'node:fs'

/**
 * The start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat). With the pid it names one process for good: a reused pid
 * gets another start time. Undefined when the process is gone.
 */
export function startTimeOf(pid: number): string | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) may hold spaces and parentheses: split after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // A zombie holds no files and runs no code; where nobody reaps orphans
  // (PID 1 of many containers) it stays in /proc for good.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined
  return fields[19]
}

export interface Owner {
  pid: number
  start: string | undefined
}

export function currentOwner(): Owner {
  return { pid: process.pid, start: startTimeOf(process.pid) }
}

/** Whether the process that an owner record names is still running. */
export function isAlive(owner: Owner): boolean {
  const start = startTimeOf(owner.pid)
  if (start === undefined) {
    if (process.platform === 'linux') return false
    try {
      process.kill(owner.pid, 0)
      return true
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
  }
  return owner.start === undefined || start === owner.start
}

/**
 * The uid outside every user namespace: inside `scratchfs run` the process
 * sees uid 0 or its own uid, but views belong to the real user.
 */
export function realUid(): number {
  const uid = process.getuid?.() ?? 0
  let map: string
  try {
    map = readFileSync('/proc/self/uid_map', 'utf8')
  } catch {
    return uid
  }
  for (const line of map.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number)
    if (inside === undefined || outside === undefined || count === undefined) continue
    if (uid >= inside && uid < inside + count) return outside + (uid - inside)
  }
  return uid
}

/** True inside a user namespace other than the initial one. */
export function inUserNamespace(): boolean {
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim()
    return !/^0\s+0\s+4294967295$/.test(map)
  } catch {
    return false
  }
}

/**
 * The process whose run a view belongs to. Kept views last until that run
 * is over: a Vitest or Jest fork's run is its parent, a thread's is its own
 * process; the config plugin names it outright in SCRATCHFS_RUN.
 */
export function runOwner(): Owner {
  const named = process.env.SCRATCHFS_RUN?.match(/^(\d+):(\d*)$/)
  if (named) return { pid: Number(named[1]), start: named[2] || undefined }
  const inForkedWorker =
    (process.env.VITEST_POOL_ID || process.env.JEST_WORKER_ID) && process.send !== undefined
  const pid = inForkedWorker ? process.ppid : process.pid
  return { pid, start: startTimeOf(pid) }
}
