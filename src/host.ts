import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Facts about this machine that decide which fix a failing backend gets. */

/** The full path of a command on PATH, or undefined. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const path = join(dir, command)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  return undefined
}

/** Docker and Podman leave these behind in every container they start. */
export function inContainer(): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv')
}

/** A sysctl's value, or undefined where this kernel does not have it. */
export function sysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * The one-line fix for "a user namespace may not be made, or may not
 * mount", from what blocks it here.
 */
export function userNamespaceFix(): string {
  if (sysctl('kernel.unprivileged_userns_clone') === '0') {
    return 'sudo sysctl -w kernel.unprivileged_userns_clone=1 (Debian/older Ubuntu), or run as root'
  }
  if (sysctl('user.max_user_namespaces') === '0') {
    return 'sudo sysctl -w user.max_user_namespaces=15000, or run as root'
  }
  if (sysctl('kernel.apparmor_restrict_unprivileged_userns') === '1') {
    return 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 23.10+), or run as root'
  }
  if (inContainer()) {
    return 'docker run --cap-add SYS_ADMIN --security-opt apparmor=unconfined --security-opt seccomp=unconfined, or use backend copy'
  }
  return "run as root (sudo), or use backend: 'copy'"
}
