import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execa } from 'execa'
import { describe, expect, test } from 'vitest'
import { probeFuseOverlayfs } from '../../src/backends/fuse-probe.js'
import { createScratch, settle } from '../../src/index.js'
import { captureWarnings, mountsBelow, tempDir, writeTree } from '../helpers.js'
import { inCI, REPO } from './plain-user.js'

// Probing happens before any test runs, so it cannot use tempDir().
async function fuseUnavailable(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'sfs-fuse-probe-'))
  try {
    const result = await probeFuseOverlayfs(dir)
    return result.ok ? undefined : `${result.reason}; fix: ${result.fix}`
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const reason = await fuseUnavailable()
if (reason && inCI) throw new Error(`CI must provide fuse-overlayfs: ${reason}`)

/** The fuse-overlayfs daemon serving a view: the one holding its upper dir open. */
async function daemonOf(viewDir: string): Promise<number> {
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')
    if (command.trim() !== 'fuse-overlayfs') continue
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [])
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      if (target.startsWith(`${viewDir}/`)) return Number(pid)
    }
  }
  throw new Error(`no fuse-overlayfs daemon holds ${viewDir}`)
}

describe.skipIf(reason)(`backend fuse-overlayfs${reason ? ` (skipped: ${reason})` : ''}`, () => {
  test('a dead daemon is detected, reported, and its view still unmounted', async () => {
    const base = await tempDir('fuse')
    const golden = join(base, 'golden')
    await writeTree(golden, { 'a.txt': 'a' })
    const scratch = await createScratch({
      golden,
      root: join(base, 'root'),
      backend: 'fuse-overlayfs',
    })
    await writeFile(join(scratch.path, 'b.txt'), 'b')

    process.kill(await daemonOf(dirname(scratch.path)), 'SIGKILL')
    for (let tries = 0; tries < 100; tries++) {
      const gone = await stat(scratch.path).then(
        () => false,
        (error: NodeJS.ErrnoException) => error.code === 'ENOTCONN',
      )
      if (gone) break
      await sleep(20)
    }
    await expect(scratch.changes()).rejects.toMatchObject({
      code: 'EBACKEND',
      message: expect.stringMatching(
        /fuse-overlayfs daemon .* is gone: every access gives ENOTCONN/,
      ),
    })

    const warnings = captureWarnings()
    await scratch.dispose()
    expect(warnings).toEqual([
      {
        code: 'SCRATCHFS_FUSE_DEAD',
        message: `the fuse-overlayfs daemon of view ${JSON.stringify(scratch.path)} died while the view was in use; the view was unmounted and its writes are lost`,
        detail:
          'Something killed the daemon (an OOM kill, a kill of the process group). Check dmesg.',
      },
    ])
    await settle()
    expect(await mountsBelow(base)).toEqual([])
    expect(
      (await readdir(join(base, 'root'))).filter((name) => name.startsWith('scratchfs-')),
    ).toEqual([])
  })

  test('users never see the per-mount warning fuse-overlayfs prints', async () => {
    const base = await tempDir('fuse')
    await writeTree(join(base, 'golden'), { 'a.txt': 'a' })
    const script = `
        const { createScratch } = await import(${JSON.stringify(join(REPO, 'dist/index.js'))})
        const scratch = await createScratch({ golden: process.argv[1], root: process.argv[2], backend: 'fuse-overlayfs' })
        await scratch.dispose()
        console.log(scratch.backend)`
    const result = await execa(
      'node',
      ['--input-type=module', '-e', script, join(base, 'golden'), join(base, 'root')],
      { reject: false, env: { DEBUG: '' } },
    )
    expect(result.stdout).toBe('fuse-overlayfs')
    expect(result.stderr).toBe('')
  })

  test('a golden path with a colon is refused before mounting, with the fix', async () => {
    const base = await tempDir('fuse')
    const golden = join(base, 'a:b')
    await writeTree(golden, { 'a.txt': 'a' })
    await expect(
      createScratch({ golden, root: join(base, 'root'), backend: 'fuse-overlayfs' }),
    ).rejects.toThrow(/cannot take a path with ':'.*\nFix: move the golden or scratch root/s)
    expect(await mountsBelow(base)).toEqual([])
  })

  test('a scratch root with a colon is refused by its own name, not by the probe dir made in it', async () => {
    const base = await tempDir('fuse')
    await writeTree(join(base, 'golden'), { 'a.txt': 'a' })
    const root = join(base, 'a:root')
    const error = await createScratch({
      golden: join(base, 'golden'),
      root,
      backend: 'fuse-overlayfs',
    }).catch((caught: Error) => caught)
    expect((error as Error).message).toContain(
      `fuse-overlayfs cannot take a path with ':' in it: scratch root ${JSON.stringify(root)} (it splits`,
    )
    expect((error as Error).message).not.toContain('scratchfs-probe')
    expect(await readdir(root)).toEqual([])
  })

  test('a golden whose realpath has a colon is named as given, with that realpath', async () => {
    const base = await tempDir('fuse')
    const real = join(base, 'a:b')
    await writeTree(real, { 'a.txt': 'a' })
    const { symlink } = await import('node:fs/promises')
    await symlink(real, join(base, 'golden-link'))
    const error = await createScratch({
      golden: join(base, 'golden-link'),
      root: join(base, 'root'),
      backend: 'fuse-overlayfs',
    }).catch((caught: Error) => caught)
    expect((error as Error).message).toContain(
      `: golden ${JSON.stringify(join(base, 'golden-link'))}, realpath ${JSON.stringify(real)} (it splits`,
    )
    expect(await readdir(join(base, 'root'))).toEqual([])
    expect(await mountsBelow(base)).toEqual([])
  })
})
