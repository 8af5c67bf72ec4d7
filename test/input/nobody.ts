import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import ts from 'typescript'
import { plainUser } from '../rootless/plain-user.js'

/** The unprivileged user the checks that root would pass run as. */
export const NOBODY = 65534

const REPO = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The library's source as plain ESM in `dir`, readable by everyone, so a
 * process of another user runs the code under test rather than a stale build.
 */
async function transpileSource(dir: string): Promise<string> {
  const src = join(REPO, 'src')
  for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const from = join(entry.parentPath, entry.name)
    const to = join(dir, 'src', relative(src, from)).replace(/\.ts$/, '.js')
    const { outputText } = ts.transpileModule(await readFile(from, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    await mkdir(dirname(to), { recursive: true })
    await writeFile(to, outputText)
  }
  // Packages from a build the other user can read, wherever this checkout is.
  const { build } = await plainUser()
  await symlink(join(build, 'node_modules'), join(dir, 'node_modules'))
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')
  return join(dir, 'src', 'index.js')
}

let library: { dir: string; entry: Promise<string> } | undefined

// Transpiled once per test file into a dir of its own; see removeTranspiled.
async function transpiled(): Promise<string> {
  if (!library) {
    const dir = await mkdtemp(join(tmpdir(), 'sfs-lib-'))
    await chmod(dir, 0o755)
    library = { dir, entry: transpileSource(dir) }
  }
  return library.entry
}

/** For afterAll of a suite that used createScratchAsNobody. */
export async function removeTranspiled(): Promise<void> {
  if (library) await rm(library.dir, { recursive: true, force: true })
  library = undefined
}

export interface Outcome {
  ok: boolean
  name?: string
  code?: string
  message?: string
  path?: string
}

/**
 * Calls createScratch(options) in a node process running as NOBODY and
 * reports what it threw. `dir` must be a directory NOBODY can read.
 */
export async function createScratchAsNobody(dir: string, options: object): Promise<Outcome> {
  await chmod(dir, 0o755)
  const entry = await transpiled()
  const script = join(dir, 'run.mjs')
  await writeFile(
    script,
    `import { createScratch } from ${JSON.stringify(entry)}
try {
  const scratch = await createScratch(${JSON.stringify(options)})
  await scratch.dispose()
  console.log(JSON.stringify({ ok: true }))
} catch (error) {
  const { name, code, message, path } = error
  console.log(JSON.stringify({ ok: false, name, code, message, path }))
}
`,
  )
  const args = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']
  const result = await execa('setpriv', [...args, process.execPath, script], { stdin: 'ignore' })
  return JSON.parse(result.stdout) as Outcome
}
