// Rewrites module specifiers that name a package: require(), require.resolve(),
// import(), `import ... from`, `export ... from`, bare `import '...'` and
// `declare module '...'`. Strings elsewhere (messages, comments' prose) stay.

import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const SOURCE = /\.(?:[cm]?js|jsx|[cm]?ts|tsx)$/

export function specifierPattern(name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  const context = String.raw`\brequire(?:\.resolve)?\s*\(\s*|\bimport\s*\(\s*|\bfrom\s*|\bimport\s*|\bdeclare\s+module\s+`
  return new RegExp(String.raw`(${context})(['"\`])${escaped}((?:/[^'"\`\n]*)?)\2`, 'g')
}

export function rewriteSpecifiers(text, from, to) {
  let count = 0
  const rewritten = text.replace(specifierPattern(from), (_, context, quote, subpath) => {
    count++
    return `${context}${quote}${to}${subpath}${quote}`
  })
  return { text: rewritten, count }
}

/** Rewrites every source file under `dir`; returns the files it changed. */
export async function rewriteTree(dir, from, to) {
  const changed = []
  for (const file of await sourceFiles(dir)) {
    const text = await readFile(file, 'utf8')
    // Cheap test first: most files never mention the package.
    if (!text.includes(from)) continue
    const result = rewriteSpecifiers(text, from, to)
    if (result.count === 0) continue
    await writeFile(file, result.text)
    changed.push({ file, count: result.count })
  }
  return changed
}

async function sourceFiles(dir) {
  const files = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.git') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)))
    else if (entry.isFile() && SOURCE.test(entry.name)) files.push(path)
  }
  return files
}
