import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'

const script = fileURLToPath(new URL('./fixtures/make-views.mjs', import.meta.url))

export interface ViewChild {
  process: ReturnType<typeof launch>
  pid: number
  /** The merged paths of its views. */
  views: string[]
  /** With `pool`: the merged path of the view it made ahead of time. */
  ready?: string
}

/** A separate Node process that made `count` overlay views and now waits. */
export async function childWithViews(
  root: string,
  golden: string,
  count = 1,
  options: { nested?: boolean; upper?: 'tmpfs'; pool?: boolean; label?: string } = {},
): Promise<ViewChild> {
  const nested = options.nested ? 'nested' : ''
  const child = launch([root, golden, String(count), nested], options)
  const failed = child.then((result) => {
    throw new Error(`view child exited early (${result.exitCode}): ${result.stderr}`)
  })
  const [line] = (await Promise.race([once(child.stdout, 'data'), failed])) as [Buffer]
  const { views, ready } = JSON.parse(String(line)) as { views: string[]; ready?: string }
  return { process: child, pid: child.pid as number, views, ...(ready && { ready }) }
}

// Without `pool` the child makes no view ahead of time, so what it leaves
// is exactly the views it reports.
function launch(args: string[], options: { upper?: 'tmpfs'; pool?: boolean; label?: string }) {
  const env = {
    ...(options.upper && { VIEW_UPPER: options.upper }),
    ...(options.label && { VIEW_LABEL: options.label }),
    SCRATCHFS_POOL: options.pool ? '1' : '0',
  }
  return execa('node', [script, ...args], { reject: false, stdin: 'ignore', env })
}
