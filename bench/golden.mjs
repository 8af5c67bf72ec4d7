// Generated goldens: a monorepo-like tree of `files` files (sources,
// package.json files, a few binaries and symlinks), made once and cached.
import { existsSync } from 'node:fs'
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const PER_DIR = 50

export async function generatedGolden(cache, files) {
  const dir = join(cache, `golden-${files}`)
  if (existsSync(join(dir, '.complete'))) return dir

  const building = `${dir}.building`
  await rm(building, { recursive: true, force: true })
  for (let start = 0; start < files; start += PER_DIR) {
    const pkg = Math.floor(start / 1000)
    const sub = join(building, 'packages', `pkg-${pkg}`, 'src', `dir-${start / PER_DIR}`)
    await mkdir(sub, { recursive: true })
    const batch = []
    for (let index = start; index < Math.min(files, start + PER_DIR); index++) {
      batch.push(writeFile(join(sub, `file-${index}.js`), source(index)))
    }
    await Promise.all(batch)
    if (start % 1000 === 0) {
      const root = join(building, 'packages', `pkg-${pkg}`)
      await writeFile(join(root, 'package.json'), `{ "name": "pkg-${pkg}", "version": "1.0.0" }\n`)
      await symlink('src', join(root, 'lib'))
    }
  }
  await writeFile(join(building, '.complete'), `${files}\n`)
  await rm(dir, { recursive: true, force: true })
  await rename(building, dir)
  return dir
}

// About 1 KB of text per file, different in each.
function source(index) {
  const line = `export const value${index} = ${index} // ${'x'.repeat(40)}\n`
  return line.repeat(16)
}
