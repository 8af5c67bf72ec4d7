import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'

const script = fileURLToPath(new URL('./fixtures/make-views.mjs', import.meta.url))

export interface ViewChild {
  process: ReturnType<typeof launch>
  pid: number
  /** The merged paths of its views. */
  views: string[]
}

/** A separate Node process that made `count` overlay views and now waits. */
export async function childWithViews(
  root: string,
  golden: string,
  count = 1,
  options: { nested?: boolean; upper?: 'tmpfs' } = {},
): Promise<ViewChild> {
  const nested = options.nested ? 'nested' : ''
  const child = launch([root, golden, String(count), nested], options.upper)
  const failed = child.then((result) => {
    throw new Error(`view child exited early (${result.exitCode}): ${result.stderr}`)
  })
  const [line] = (await Promise.race([once(child.stdout, 'data'), failed])) as [Buffer]
  return { process: child, pid: child.pid as number, views: JSON.parse(String(line)) as string[] }
}

function launch(args: string[], upper?: string) {
  const env = upper ? { VIEW_UPPER: upper } : {}
  return execa('node', [script, ...args], { reject: false, stdin: 'ignore', env })
}
