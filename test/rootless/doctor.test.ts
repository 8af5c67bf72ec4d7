import { chown, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { tempDir } from '../helpers.js'
import { asPlainUser, cli, plainUser, plainUserUnavailable } from './plain-user.js'

const reason = plainUserUnavailable()

interface Report {
  chosen: string
  backends: { name: string; ok: boolean; reason: string | null; fix: string | null }[]
}

async function userRoot(): Promise<string> {
  const { uid, gid } = await plainUser()
  const base = await tempDir('doctor')
  await chown(base, uid, gid)
  const root = join(base, 'root')
  await mkdir(root)
  await chown(root, uid, gid)
  return root
}

// Whether the plain user may open /dev/fuse decides fuse-overlayfs, and so the pick.
async function fuseOpenToOthers(): Promise<boolean> {
  const device = await stat('/dev/fuse').catch(() => undefined)
  return device !== undefined && (device.mode & 0o006) === 0o006
}

describe.skipIf(reason)(
  `scratchfs doctor as a plain user${reason ? ` (skipped: ${reason})` : ''}`,
  () => {
    test('--json names the backend auto picks and why each other one fails, with a fix', async () => {
      const root = await userRoot()
      const result = await asPlainUser(['node', await cli(), 'doctor', '--json', '--root', root])
      expect(result.exitCode).toBe(0)
      const report = JSON.parse(result.stdout) as Report

      expect(report.backends.map((backend) => backend.name)).toEqual([
        'overlay',
        'overlay (scratchfs run)',
        'fuse-overlayfs',
        'copy',
      ])
      const [overlay, namespaced, fuse, copy] = report.backends
      expect(overlay).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/superuser|not permitted|denied/i),
      })
      // This kernel lets a plain user mount in a namespace: the fix says how.
      expect(namespaced).toEqual({
        name: 'overlay (scratchfs run)',
        ok: true,
        reason: null,
        fix: null,
      })
      expect(overlay?.fix).toContain('scratchfs run')
      expect(copy?.ok).toBe(true)
      expect(fuse?.ok).toBe(await fuseOpenToOthers())
      expect(report.chosen).toBe(fuse?.ok ? 'fuse-overlayfs' : 'copy')
      for (const backend of report.backends.filter((entry) => !entry.ok)) {
        expect(backend.reason, backend.name).toMatch(/\w/)
        expect(backend.fix, backend.name).toMatch(/\w/)
      }
    })

    test('prints a short table and the pick for people', async () => {
      const root = await userRoot()
      const result = await asPlainUser(['node', await cli(), 'doctor', '--root', root])
      expect(result.exitCode).toBe(0)
      const lines = result.stdout.split('\n')
      expect(lines[0]).toMatch(/^overlay +no +mounting an overlay/)
      expect(lines).toContainEqual(
        expect.stringMatching(/^ +fix: run the tests under 'scratchfs run/),
      )
      expect(lines).toContainEqual(expect.stringMatching(/^overlay \(scratchfs run\) +ok/))
      expect(lines).toContainEqual(expect.stringMatching(/^copy +ok/))
      expect(result.stdout).toMatch(/\nauto picks: (fuse-overlayfs|copy) \(scratch root /)
      expect(result.stdout).toContain('npx scratchfs run -- npx vitest run')
    })

    test('inside scratchfs run the overlay works and auto picks it', async () => {
      const root = await userRoot()
      const result = await asPlainUser([
        'node',
        await cli(),
        'run',
        '--',
        'node',
        await cli(),
        'doctor',
        '--json',
        '--root',
        root,
      ])
      expect(result.exitCode, result.stderr).toBe(0)
      const report = JSON.parse(result.stdout) as Report
      expect(report.chosen).toBe('overlay')
      expect(report.backends[0]).toEqual({ name: 'overlay', ok: true, reason: null, fix: null })
    })
  },
)
