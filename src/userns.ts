import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { debug } from './debug.js'
import { onPath, userNamespaceFix } from './host.js'
import { PREFIX } from './root.js'

const log = debug('userns')

/**
 * How `scratchfs run` makes its namespace. `--map-current-user` keeps the
 * user's own uid and gid inside, so files the tests make belong to them and
 * permission tests mean what they mean outside (with `--map-root-user` every
 * test would run as uid 0 and no EACCES would ever happen); `--keep-caps`
 * keeps the namespace's capabilities across exec, which mounting needs.
 * `--mount` makes a private mount namespace: its mounts never reach the host
 * and die with its last process.
 */
export const UNSHARE_ARGS = ['--user', '--map-current-user', '--keep-caps', '--mount'] as const

export interface NamespaceCheck {
  ok: boolean
  reason?: string
  fix?: string
}

/**
 * Whether a plain user may make the namespace and mount in it. Making it
 * is not enough: Ubuntu 24.04 allows the namespace and denies every mount
 * inside, so this mounts a tiny tmpfs there.
 */
export async function checkNamespace(): Promise<NamespaceCheck> {
  if (process.platform !== 'linux') {
    return {
      ok: false,
      reason: `user namespaces are Linux-only (this is ${process.platform})`,
      fix: "use backend: 'copy'",
    }
  }
  if (!onPath('unshare')) {
    return {
      ok: false,
      reason: 'unshare (util-linux) is not on PATH',
      fix: 'sudo apt-get install util-linux (dnf/apk: util-linux)',
    }
  }
  const dir = await mkdtemp(join(tmpdir(), `${PREFIX}userns-`))
  try {
    const result = await execa(
      'unshare',
      [...UNSHARE_ARGS, '--', 'mount', '-t', 'tmpfs', '-o', 'size=16k', 'scratchfs', dir],
      { reject: false, stdin: 'ignore' },
    )
    if (result.exitCode === 0) return { ok: true }
    const why = result.stderr.trim().split('\n')[0] || result.message || 'no output'
    log('namespace check failed: %s', why)
    return {
      ok: false,
      reason: `a user + mount namespace cannot mount here: ${why}`,
      fix: userNamespaceFix(),
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
