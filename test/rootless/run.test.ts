import { chown, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { mountsBelow, tempDir, writeTree } from '../helpers.js'
import { asPlainUser, cli, plainUser, plainUserUnavailable, REPO, userCopy } from './plain-user.js'

const reason = plainUserUnavailable()
const SCENARIO = join(REPO, 'test/rootless/scenario.mjs')

/** A dir the plain user owns, with a golden (one file only root may write) and a root. */
async function userSpace() {
  const { uid, gid } = await plainUser()
  const base = await tempDir('rootless')
  await chown(base, uid, gid)
  const golden = join(base, 'golden')
  await writeTree(golden, { 'gone.txt': 'golden', 'root-only.txt': 'root', dir: { 'a.txt': 'a' } })
  await mkdir(join(base, 'root'))
  await chown(join(base, 'root'), uid, gid)
  return { base, golden, root: join(base, 'root'), uid }
}

describe.skipIf(reason)(
  `scratchfs run as a plain user${reason ? ` (skipped: ${reason})` : ''}`,
  () => {
    test("gives kernel overlay views with userxattr, as the user's own uid, and leaves no mount on the host", async () => {
      const space = await userSpace()
      const { build } = await plainUser()
      const scenario = await userCopy(SCENARIO, space.base)
      const result = await asPlainUser([
        'node',
        await cli(),
        'run',
        '--',
        'node',
        scenario,
        build,
        space.golden,
        space.root,
      ])
      expect(result.stderr).toBe('')
      expect(result.exitCode).toBe(0)
      const seen = JSON.parse(result.stdout)

      expect(seen.backend).toBe('overlay')
      expect(seen.superOptions.split(',')).toContain('userxattr')
      expect(seen.uid).toBe(space.uid)
      expect(seen.fileUid).toBe(space.uid)
      // The golden's root-owned file stays root's: permission tests mean something.
      expect(seen.writeDenied).toBe(true)
      expect(seen.changes).toEqual([
        { kind: 'deleted', path: 'gone.txt' },
        { kind: 'added', path: 'new.txt' },
      ])
      expect(seen.path.startsWith(`${space.root}/scratchfs-`)).toBe(true)
      expect(await mountsBelow(space.base)).toEqual([])
    })

    test("puts views under the real user's default root, not uid 0's", async () => {
      const space = await userSpace()
      const { build } = await plainUser()
      const scenario = await userCopy(SCENARIO, space.base)
      const result = await asPlainUser(
        ['node', await cli(), 'run', '--', 'node', scenario, build, space.golden],
        { env: { TMPDIR: space.base } },
      )
      expect(result.exitCode, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout).path).toMatch(
        new RegExp(`^${space.base}/scratchfs-${space.uid}/scratchfs-view-`),
      )
    })

    test('passes the exit code through, and 128+n for a command a signal ended', async () => {
      const node = ['node', await cli(), 'run', '--', 'node', '-e']
      expect((await asPlainUser([...node, 'process.exit(7)'])).exitCode).toBe(7)
      expect((await asPlainUser([...node, "process.kill(process.pid, 'SIGTERM')"])).exitCode).toBe(
        143,
      )
    })

    test('hands SIGTERM and SIGINT sent to scratchfs on to the command', async () => {
      // The command runs as scratchfs's child (unshare execs it): its ppid is scratchfs.
      const waiter =
        "process.on('SIGTERM', () => process.exit(42)); console.log(process.ppid); setInterval(() => {}, 1000)"
      const running = asPlainUser(['node', await cli(), 'run', '--', 'node', '-e', waiter])
      const scratchfsPid = Number(await firstLine(running))
      process.kill(scratchfsPid, 'SIGTERM')
      expect((await running).exitCode).toBe(42)

      const plain = 'console.log(process.ppid); setInterval(() => {}, 1000)'
      const interrupted = asPlainUser(['node', await cli(), 'run', '--', 'node', '-e', plain])
      process.kill(Number(await firstLine(interrupted)), 'SIGINT')
      expect((await interrupted).exitCode).toBe(130)
    })

    test('kills what the command left running, so nothing it mounted survives', async () => {
      const script =
        "const c = require('child_process').spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }); c.unref(); console.log(c.pid)"
      const result = await asPlainUser(['node', await cli(), 'run', '--', 'node', '-e', script])
      expect(result.exitCode).toBe(0)
      expect(result.stderr).toMatch(/killed what the command left running .*sleep 60/)
      const pid = Number(result.stdout.trim())
      expect(await runningAfter(pid, 2000)).toBe(false)
    })
  },
)

/** Whether a pid is still running (not gone, not a zombie) after a grace time. */
async function runningAfter(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === '' || state === 'Z') return false
    if (Date.now() > deadline) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The first line the command prints: the pid of the scratchfs process. */
function firstLine(child: ReturnType<typeof asPlainUser>): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) resolve(text.split('\n')[0] ?? '')
    })
  })
}
