// JSON files written back the way they were read: same indent, same final
// newline, so a tool's diff shows only what it meant to change.

import { readFile, writeFile } from 'node:fs/promises'

export async function readJson(path) {
  const text = await readFile(path, 'utf8')
  const indent = /^[{[]\r?\n([ \t]+)/.exec(text)?.[1] ?? '  '
  return { path, data: JSON.parse(text), indent, newline: text.endsWith('\n') ? '\n' : '' }
}

export async function writeJson(file) {
  await writeFile(file.path, `${JSON.stringify(file.data, null, file.indent)}${file.newline}`)
}

/** Renames a key in place, keeping the object's key order. */
export function renameKey(object, from, to) {
  const renamed = {}
  for (const [key, value] of Object.entries(object)) renamed[key === from ? to : key] = value
  return renamed
}
