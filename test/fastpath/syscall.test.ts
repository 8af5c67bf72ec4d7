import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { overlayOptions } from '../../src/mount/mount.js'
import { readMountinfo } from '../../src/mount/mountinfo.js'
import { loadLibc, mountOverlayCall, umountCall } from '../../src/mount/syscall.js'
import { unmountAll } from '../../src/mount/unmount.js'
import { isRoot, snapshot, tempDir, writeTree } from '../helpers.js'

const hasFfi = loadLibc() !== null

// A view dir laid out as mountOverlay leaves it, under a hostile name.
async function viewDir(base: string, name: string, golden: string): Promise<string> {
  const dir = join(base, name)
  await Promise.all(
    ['upper', 'work', 'merged'].map((sub) => mkdir(join(dir, sub), { recursive: true })),
  )
  await symlink(golden, join(dir, 'l0'))
  return dir
}

// Mount options with the layer paths cut to their last part: the syscall
// path names them through /proc/self/fd, mount(8) relative to the view dir.
async function optionsOf(merged: string): Promise<{ mount: string; super: string[] }> {
  const entry = (await readMountinfo()).find((mount) => mount.target === merged)
  if (!entry) throw new Error(`${merged} is not mounted`)
  const superOptions = entry.superOptions
    .split(',')
    .map((option) => option.replace(/^(lowerdir\+?|upperdir|workdir)=.*\/([^/]+)$/, '$1=$2'))
    .map((option) => option.replace(/^lowerdir\+=/, 'lowerdir='))
  return { mount: entry.options, super: superOptions.sort() }
}

describe.skipIf(!isRoot || !hasFfi)('mounting through syscalls (needs root and koffi)', () => {
  test('gives the same mount options and the same view as mount(8)', async () => {
    const base = await tempDir('fastpath')
    const golden = join(base, 'golden, ro:lowerdir=x')
    await writeTree(golden, {
      'a.txt': 'a',
      sub: { 'b.bin': Buffer.from([0, 1, 2]) },
      link: { link: 'a.txt' },
    })
    const options = overlayOptions(1, false)

    const direct = await viewDir(base, 'scratchfs-direct,ro', golden)
    const spawned = await viewDir(base, 'scratchfs-spawned,ro', golden)
    expect(await mountOverlayCall({ dir: direct, options })).toMatchObject({ exitCode: 0 })
    expect(await mountOverlayCall({ dir: spawned, options }, 'spawn')).toMatchObject({
      exitCode: 0,
    })

    const [a, b] = [join(direct, 'merged'), join(spawned, 'merged')]
    expect(await optionsOf(a)).toEqual(await optionsOf(b))
    expect((await optionsOf(a)).mount).toMatch(/nosuid,nodev/)
    expect(await snapshot(a)).toEqual(await snapshot(golden))
    expect(await snapshot(a)).toEqual(await snapshot(b))

    await writeFile(join(a, 'a.txt'), 'changed')
    expect(await readFile(join(direct, 'upper', 'a.txt'), 'utf8')).toBe('changed')
    expect(await readFile(join(golden, 'a.txt'), 'utf8')).toBe('a')

    expect(await umountCall(a)).toMatchObject({ exitCode: 0 })
    expect((await umountCall(a)).stderr).toMatch(/not mounted/)
    await unmountAll(b)
  })

  test('reports what the kernel says when a mount fails', async () => {
    const base = await tempDir('fastpath-fail')
    const dir = await viewDir(base, 'scratchfs-missing', join(base, 'no-such-golden'))
    const result = await mountOverlayCall({ dir, options: overlayOptions(1, false) })
    expect(result.exitCode).not.toBe(0)
    expect(result.stderr).toMatch(/ENOENT/)
    expect(result.command).toMatch(/lowerdir\+/)
  })
})
