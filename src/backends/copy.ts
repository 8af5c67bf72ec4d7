import { mkdir } from 'node:fs/promises'
import { execa } from 'execa'
import fse from 'fs-extra'
import { diffView } from '../changes.js'
import { ScratchfsError, show } from '../errors.js'
import type { Backend, View } from './types.js'

/** A full copy per view: works everywhere, costs time in the tree's size. */
export const copy: Backend = {
  name: 'copy',

  async create(view) {
    await mkdir(view.merged)
    // Lower layers first, so upper ones overwrite what they share.
    for (const layer of [...view.layers].reverse()) await copyTree(layer, view.merged)
  },

  destroy: async () => ({ retries: 0 }),

  changes: (view: View) => diffView({ merged: view.merged, layers: view.layers }),
}

/**
 * GNU cp copies several times faster than a copy driven from JavaScript,
 * keeps link targets verbatim, modes, owners and times, and clones blocks
 * where the filesystem can. Elsewhere (macOS) fs-extra copies, links as
 * they are.
 */
async function copyTree(from: string, to: string): Promise<void> {
  if (process.platform === 'linux') {
    const result = await execa('cp', ['-a', '--reflink=auto', '--', `${from}/.`, to], {
      reject: false,
      stdin: 'ignore',
    })
    if (result.exitCode === 0) return
    throw new ScratchfsError(
      'EBACKEND',
      `copying golden ${show(from)} to ${show(to)} failed: ${result.stderr.trim()}`,
      {
        path: from,
        fix: 'check that the golden is readable and the scratch root has room',
        cause: result,
      },
    )
  }
  await fse.copy(from, to, { dereference: false, preserveTimestamps: true, errorOnExist: false })
}
