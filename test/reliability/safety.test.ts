import { chmod, lstat, mkdir, readdir, readFile, stat, statfs, symlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { execa } from 'execa'
import { afterEach, describe, expect, test } from 'vitest'
import { createScratch } from '../../src/index.js'
import {
  defaultRoot,
  makeViewDir,
  PREFIX,
  prepareRoot,
  RECORD,
  writeRecord,
} from '../../src/root.js'
import { isRoot, tempDir, writeTree } from '../helpers.js'

const savedTmp = process.env.TMPDIR
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = savedTmp
})

/** A private TMPDIR, so the default root is one this test may plant things at. */
async function privateTmp(): Promise<string> {
  const tmp = await tempDir('safety')
  process.env.TMPDIR = tmp
  return tmp
}

const owner = { pid: process.pid, start: undefined }

describe('the scratch root and view dirs', () => {
  test('the default root is made 0700 for this user, and an existing loose one is tightened', async () => {
    const tmp = await privateTmp()
    const root = await prepareRoot(undefined)
    expect(root).toBe(defaultRoot())
    expect(dirname(root)).toBe(tmp)
    expect((await stat(root)).mode & 0o777).toBe(0o700)

    await chmod(root, 0o777)
    await prepareRoot(undefined)
    expect((await stat(root)).mode & 0o777).toBe(0o700)
  })

  test('a default root made on ext4 spreads its view dirs (chattr +T); one given is left as it is', async () => {
    const tmp = await privateTmp()
    const onExt4 = (await statfs(tmp)).type === 0xef53
    const flags = async (dir: string) =>
      (await execa('lsattr', ['-d', dir], { reject: false })).stdout.split(' ')[0] ?? ''
    const root = await prepareRoot(undefined)
    if (onExt4) expect(await flags(root)).toContain('T')
    else expect(await flags(root)).not.toContain('T')

    const given = join(tmp, 'given')
    await mkdir(given, { mode: 0o700 })
    await prepareRoot(given)
    expect(await flags(given)).not.toContain('T')
  })

  test('a symlink planted at the default root is refused, never followed', async () => {
    const tmp = await privateTmp()
    const elsewhere = join(tmp, 'attacker-dir')
    await mkdir(elsewhere, { mode: 0o777 })
    await chmod(elsewhere, 0o777)
    await symlink(elsewhere, defaultRoot())

    const error = await prepareRoot(undefined).catch((e) => e)
    expect(error.code).toBe('EROOT')
    expect(error.message).toContain(`scratch root ${JSON.stringify(defaultRoot())} is a symlink`)
    const golden = join(tmp, 'golden')
    await writeTree(golden, { 'a.txt': 'a' })
    await expect(createScratch({ golden, backend: 'copy' })).rejects.toThrow(/is a symlink/)
    expect((await stat(elsewhere)).mode & 0o777).toBe(0o777)
    expect((await lstat(defaultRoot())).isSymbolicLink()).toBe(true)
  })

  test.skipIf(!isRoot)(
    'a default root owned by another user is refused (needs root to chown)',
    async () => {
      await privateTmp()
      await mkdir(defaultRoot(), { mode: 0o700 })
      await execa('chown', ['65534:65534', defaultRoot()])

      const error = await prepareRoot(undefined).catch((e) => e)
      expect(error.code).toBe('EROOT')
      expect(error.message).toContain('belongs to uid 65534, not to uid 0')
    },
  )

  test.skipIf(!isRoot)(
    'a root given as a link to a dir another user owns is refused, as that dir would be (needs root to chown)',
    async () => {
      const tmp = await privateTmp()
      const theirs = join(tmp, 'theirs')
      await mkdir(theirs, { mode: 0o755 })
      await execa('chown', ['65534:65534', theirs])
      const link = join(tmp, 'link')
      await symlink(theirs, link)
      const golden = join(tmp, 'golden')
      await writeTree(golden, { 'a.txt': 'a' })

      for (const root of [theirs, link]) {
        const error = await createScratch({ golden, root, backend: 'copy' }).catch((e) => e)
        expect(error.code).toBe('EROOT')
        expect(error.message).toContain('belongs to uid 65534, not to uid 0')
      }
      const refused = await prepareRoot(link).catch((e) => e)
      expect(refused.message).toContain(`the dir it links to, ${JSON.stringify(theirs)}`)
      expect(await readdir(theirs)).toEqual([])
      // The same link to a dir of one's own is a root like any other.
      await execa('chown', ['0:0', theirs])
      expect(await prepareRoot(link)).toBe(theirs)
    },
  )

  test('view dirs are fresh mkdtemp dirs, 0700, each with its own name and record', async () => {
    const tmp = await privateTmp()
    const root = await prepareRoot(join(tmp, 'root'))
    const record = { run: owner, backend: 'copy', label: 'a,b:c' }
    const dirs = await Promise.all(
      Array.from({ length: 20 }, () => makeViewDir(root, 'a,b:c', record)),
    )

    expect(new Set(dirs).size).toBe(20)
    for (const dir of dirs) {
      expect(basename(dir)).toMatch(new RegExp(`^${PREFIX}a-b-c-[A-Za-z0-9]{6}$`))
      expect((await stat(dir)).mode & 0o777).toBe(0o700)
      expect(JSON.parse(await readFile(join(dir, RECORD), 'utf8')).owner.pid).toBe(process.pid)
    }
  })

  test('a symlink planted at a record is replaced, not written through', async () => {
    const tmp = await privateTmp()
    const root = await prepareRoot(join(tmp, 'root'))
    const dir = await makeViewDir(root, 'planted', { run: owner, backend: 'copy', label: 'p' })
    const victim = join(tmp, 'victim')
    await writeTree(tmp, { victim: 'precious' })
    await symlink(victim, join(dir, `${RECORD}.tmp`))
    const { rm } = await import('node:fs/promises')
    await rm(join(dir, RECORD))
    await symlink(victim, join(dir, RECORD))

    await writeRecord(dir, { owner, run: owner, backend: 'copy', label: 'p', created: 0 })

    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect((await lstat(join(dir, RECORD))).isFile()).toBe(true)
  })

  test.skipIf(!isRoot)(
    'a symlink planted at a view subdir makes creation fail, and nothing is mounted there (needs root to mount)',
    async () => {
      const tmp = await privateTmp()
      const golden = join(tmp, 'golden')
      await writeTree(golden, { 'a.txt': 'a' })
      const outside = join(tmp, 'outside')
      await mkdir(outside)
      const root = await prepareRoot(join(tmp, 'root'))
      // Plant a link at every name a view will use, in every dir mkdtemp could
      // return next: simulate it by making the view dir first and planting in it.
      const dir = await makeViewDir(root, 'planted', { run: owner, backend: 'overlay', label: 'p' })
      await symlink(outside, join(dir, 'upper'))
      const { overlay } = await import('../../src/backends/overlay.js')
      const view = {
        dir,
        merged: join(dir, 'merged'),
        upper: join(dir, 'upper'),
        work: join(dir, 'work'),
        layers: [golden],
      }

      await expect(overlay.create(view)).rejects.toThrow(/EEXIST/)
      const { readdir } = await import('node:fs/promises')
      expect(await readdir(outside)).toEqual([])
    },
  )
})
