import { statfs } from 'node:fs/promises'
import { execa } from 'execa'
import { debug } from './debug.js'

const log = debug('root')

const EXT4_SUPER_MAGIC = 0xef53

/**
 * Marks a root scratchfs just made on ext4 as a top of directory
 * hierarchies (`chattr +T`), so the kernel places each view dir made in it
 * as it places dirs made at the top of the filesystem: in a block group
 * with few dirs, not next to the dirs deleted a moment ago.
 *
 * That matters on ext4 without a journal: there the inode allocator passes
 * over every inode freed in the last 30 seconds, looking up each, so a
 * steady stream of views made and deleted side by side makes every mkdir
 * slower. On this project's 2-core VM, 7 mkdirs and 7 rmdirs per view took
 * 1.0 ms below a plain dir and 0.75 ms below a marked one. Elsewhere the mark
 * only spreads dirs; where chattr is missing or refuses, nothing changes.
 */
export async function spreadViews(root: string): Promise<void> {
  if (process.platform !== 'linux') return
  const info = await statfs(root).catch(() => undefined)
  if (info?.type !== EXT4_SUPER_MAGIC) return
  const result = await execa('chattr', ['+T', '--', root], { reject: false, stdin: 'ignore' })
  log('chattr +T %s: %s', root, result.exitCode === 0 ? 'done' : result.stderr || result.message)
}
