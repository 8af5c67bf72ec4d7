// Builds the example's golden tree once: a real monorepo made of published
// npm packages, installed from the registry and committed to git. Cached
// under .golden/<hash of the recipe>/repo, so a changed recipe rebuilds.
//
//   node examples/monorepo/golden.js    builds if needed, prints the path

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fingerprint } from './fingerprint.js'

const here = dirname(fileURLToPath(import.meta.url))
const cacheDir = join(here, '.golden')
const recipeFile = join(here, 'recipe.json')

// Bump when the build steps change in a way the recipe does not show.
const BUILD_FORMAT = 1

export function recipeKey() {
  const text = readFileSync(recipeFile, 'utf8')
  return createHash('sha256').update(`${BUILD_FORMAT}\n${text}`).digest('hex').slice(0, 12)
}

/** Where the golden repo is (or will be) for the current recipe. */
export function goldenPath() {
  return join(cacheDir, recipeKey(), 'repo')
}

/** What the build recorded about the golden: file count, bytes, commits. */
export function goldenInfo() {
  const file = join(cacheDir, recipeKey(), 'info.json')
  if (!existsSync(file)) {
    throw new Error(
      `the example's golden is not built (${file} is missing); run: node examples/monorepo/golden.js`,
    )
  }
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** Builds the golden unless a complete one for this recipe exists. */
export async function ensureGolden({ log = () => {} } = {}) {
  const key = recipeKey()
  const done = join(cacheDir, key)
  if (existsSync(join(done, 'info.json'))) return { path: join(done, 'repo'), built: false }

  await mkdir(cacheDir, { recursive: true })
  await removeStale(key)
  const started = performance.now()
  // A build happens beside its final place and is renamed in when complete,
  // so an interrupted build is never mistaken for a golden.
  const building = await mkdtemp(join(cacheDir, `.building-${key}-${process.pid}-`))
  try {
    const info = await build(join(building, 'repo'), log)
    info.buildSeconds = Math.round((performance.now() - started) / 100) / 10
    await writeFile(join(building, 'info.json'), `${JSON.stringify(info, null, 2)}\n`)
    await rename(building, done)
  } catch (error) {
    await rm(building, { recursive: true, force: true })
    // Another run finished the same recipe first: use its golden.
    if (existsSync(join(done, 'info.json'))) return { path: join(done, 'repo'), built: false }
    throw error
  }
  return { path: join(done, 'repo'), built: true }
}

async function build(repo, log) {
  const recipe = JSON.parse(await readFile(recipeFile, 'utf8'))
  const members = Object.entries(recipe.members)
  await mkdir(join(repo, 'packages'), { recursive: true })

  log(`packing ${members.length} packages from the npm registry`)
  const tarballs = join(repo, '..', 'tarballs')
  await mkdir(tarballs)
  const specs = members.map(([name, version]) => `${name}@${version}`)
  const packed = JSON.parse(
    run('npm', ['pack', ...specs, '--pack-destination', tarballs, '--json'], repo),
  )
  for (const [index, [name, version]] of members.entries()) {
    const entry = packed[index]
    if (entry?.name !== name || entry.version !== version) {
      throw new Error(`npm pack gave ${entry?.name}@${entry?.version}, expected ${name}@${version}`)
    }
    const dir = join(repo, 'packages', name.split('/').pop())
    await mkdir(dir)
    run(
      'tar',
      [
        '-xzf',
        join(tarballs, entry.filename),
        '-C',
        dir,
        '--strip-components=1',
        '--no-same-owner',
      ],
      repo,
    )
  }

  await writeFile(join(repo, 'package.json'), `${JSON.stringify(recipe.root, null, 2)}\n`)
  await writeFile(join(repo, '.gitignore'), 'node_modules/\n')

  const git = gitRunner(repo, recipe.git)
  git('init', '-q', '-b', 'main')
  git('config', 'user.name', recipe.git.user)
  git('config', 'user.email', recipe.git.email)
  git('config', 'commit.gpgsign', 'false')
  git('add', '.')
  git(
    'commit',
    '-q',
    '-m',
    `Import ${specs.length} published Babel packages\n\n${specs.join('\n')}`,
  )

  if (recipe.dropMemberDevDependencies) {
    for (const [name] of members) {
      const file = join(repo, 'packages', name.split('/').pop(), 'package.json')
      const manifest = JSON.parse(await readFile(file, 'utf8'))
      delete manifest.devDependencies
      await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`)
    }
    git(
      'commit',
      '-q',
      '-a',
      '-m',
      `Drop the members' devDependencies\n\n${recipe.dropMemberDevDependencies}`,
    )
  }

  log('npm install (workspaces and their dev dependencies, from the registry)')
  run('npm', ['install', ...recipe.install], repo)
  git('add', 'package-lock.json')
  git('commit', '-q', '-m', 'Lock dependencies')

  const print = await fingerprint(repo)
  return {
    recipe: recipeKey(),
    members: recipe.members,
    head: git('rev-parse', 'HEAD').trim(),
    commits: Number(git('rev-list', '--count', 'HEAD').trim()),
    files: print.files,
    dirs: print.dirs,
    links: print.links,
    bytes: print.bytes,
    fingerprint: print.hash,
  }
}

function gitRunner(repo, identity) {
  const env = {
    GIT_AUTHOR_DATE: identity.date,
    GIT_COMMITTER_DATE: identity.date,
  }
  return (...args) => run('git', args, repo, env)
}

/** npm run sets npm_* variables that would steer a child npm to this project. */
export function cleanEnv(extra = {}) {
  const env = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value
  }
  return { ...env, npm_config_update_notifier: 'false', ...extra }
}

function run(command, args, cwd, env = {}) {
  return execFileSync(command, args, {
    cwd,
    env: cleanEnv(env),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
}

/** Drops goldens of older recipes and builds whose process is gone. */
async function removeStale(key) {
  for (const name of await readdir(cacheDir)) {
    const building = /^\.building-([0-9a-f]+)-(\d+)-/.exec(name)
    const stale = building ? !alive(Number(building[2])) : name !== key
    if (stale) await rm(join(cacheDir, name), { recursive: true, force: true })
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { path, built } = await ensureGolden({ log: (line) => console.error(`golden: ${line}`) })
  const info = goldenInfo()
  console.error(
    `golden: ${built ? 'built' : 'cached'}: ${info.files} files, ${(info.bytes / 1e6).toFixed(1)} MB`,
  )
  console.log(path)
}
