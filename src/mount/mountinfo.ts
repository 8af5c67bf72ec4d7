import { readFile } from 'node:fs/promises'
import { sep } from 'node:path'

export interface MountEntry {
  id: number
  parent: number
  /** The mount point, unescaped. */
  target: string
  fstype: string
  source: string
  options: string
  superOptions: string
}

/** mountinfo writes space, tab, newline and backslash as \NNN octal. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  )
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    if (dash < 0) continue
    entries.push({
      id: Number(fields[0]),
      parent: Number(fields[1]),
      // Multi-byte names arrive as raw bytes: read the file as latin1, then decode.
      target: Buffer.from(unescapeOctal(fields[4] ?? ''), 'latin1').toString('utf8'),
      options: fields[5] ?? '',
      fstype: fields[dash + 1] ?? '',
      source: unescapeOctal(fields[dash + 2] ?? ''),
      superOptions: fields[dash + 3] ?? '',
    })
  }
  return entries
}

export async function readMountinfo(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'latin1').catch(() => '')
  return parseMountinfo(text)
}

/** Mounts at or below a path, deepest first (the order to unmount them in). */
export async function mountsUnder(path: string): Promise<MountEntry[]> {
  const prefix = path.endsWith(sep) ? path : path + sep
  const all = await readMountinfo()
  return all
    .filter((entry) => entry.target === path || entry.target.startsWith(prefix))
    .sort((a, b) => b.target.length - a.target.length || b.id - a.id)
}

export async function isMounted(path: string): Promise<boolean> {
  const all = await readMountinfo()
  return all.some((entry) => entry.target === path)
}
