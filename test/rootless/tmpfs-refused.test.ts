import { chown } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { tempDir, writeTree } from '../helpers.js'
import { asPlainUser, plainUser, plainUserUnavailable } from './plain-user.js'

const asUser = plainUserUnavailable()

describe.skipIf(asUser)(
  `uppers on tmpfs for a plain user outside a namespace${asUser ? ` (skipped: ${asUser})` : ''}`,
  () => {
    test("upper: 'tmpfs' says precisely what to set when scratchfs may not mount one", async () => {
      const { uid, gid, build } = await plainUser()
      const base = await tempDir('tmpfs')
      await chown(base, uid, gid)
      await writeTree(join(base, 'golden'), { 'a.txt': 'golden' })
      const script = `
        const { createScratch } = await import(${JSON.stringify(join(build, 'dist/index.js'))})
        await createScratch({ golden: process.argv[1], root: process.argv[2], upper: 'tmpfs' })
          .catch((error) => { console.log(error.message); process.exit(3) })`
      const result = await asPlainUser([
        'node',
        '--input-type=module',
        '-e',
        script,
        join(base, 'golden'),
        join(base, 'root'),
      ])
      expect(result.exitCode, result.stderr).toBe(3)
      expect(result.stdout).toMatch(/^mounting a tmpfs for overlay uppers on .* failed: /)
      expect(result.stdout).toMatch(
        /Fix: run the tests under 'scratchfs run -- <command>' \(or as root\) so scratchfs can mount a tmpfs, or pass root: '\/dev\/shm\/scratchfs-\d+' \(a tmpfs here\)/,
      )
    })
  },
)
