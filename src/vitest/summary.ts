import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Reporter, TestCase, Vitest } from 'vitest/node'
import { mountsUnder } from '../mount/mountinfo.js'
import { unmountAll } from '../mount/unmount.js'
import { isAlive, type Owner } from '../proc.js'
import { removeTree } from '../remove.js'
import { GONE, PREFIX, READY, RECORD, readRecord, type ViewRecord } from '../root.js'
import { keptLine, type ViewReport } from './report.js'

/**
 * Collects what every fixture reported, prints the kept lines as the tests
 * end, and one summary line when the run ends.
 */
export class SummaryReporter implements Reporter {
  #vitest: Vitest | undefined
  #views: ViewReport[] = []
  readonly #root: string
  readonly #run: Owner
  readonly #chosen: () => string

  /** `chosen` names the backend `auto` picks, for a run that made no view. */
  constructor(root: string, run: Owner, chosen: () => string) {
    this.#root = root
    this.#run = run
    this.#chosen = chosen
  }

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  onTestRunStart(): void {
    this.#views = []
  }

  onTestCaseResult(testCase: TestCase): void {
    const report = (testCase.meta() as { scratchfs?: ViewReport }).scratchfs
    if (!report) return
    this.#views.push(report)
    if (report.kept !== undefined) this.#vitest?.logger.error(keptLine(report.kept))
  }

  async onTestRunEnd(): Promise<void> {
    // Fixtures given a root of their own name it in their reports.
    const roots = new Set([this.#root, ...this.#views.flatMap((view) => view.root ?? [])])
    const remaining: Remaining = { busy: 0, left: 0 }
    for (const root of roots) {
      const there = await settledViews(root, this.#run)
      remaining.busy += there.busy
      remaining.left += there.left
    }
    this.#vitest?.logger.log(summaryLine(this.#views, this.#chosen(), remaining))
  }
}

/** What a run left under the root once its teardowns are done. */
export interface Remaining {
  /** Views detached while a process still held them: the sweeper's, on purpose. */
  busy: number
  /** Views and mounts that should be gone and are not: leaks. */
  left: number
}

/**
 * `scratchfs: 12 views made, backend overlay, median setup+teardown 8.4 ms, 1 kept, 0 left over`,
 * with `, 1 busy (left for scratchfs clean)` before the last part when a view was detached.
 */
export function summaryLine(
  views: readonly ViewReport[],
  chosen: string,
  remaining: Remaining,
): string {
  const backends = [...new Set(views.map((view) => view.backend))].sort()
  const backend = backends.length > 0 ? backends.join('+') : chosen
  const median = views.length > 0 ? `${medianOf(views.map((view) => view.ms)).toFixed(1)} ms` : '-'
  const kept = views.filter((view) => view.kept !== undefined).length
  const busy = remaining.busy > 0 ? `, ${remaining.busy} busy (left for scratchfs clean)` : ''
  return `scratchfs: ${views.length} views made, backend ${backend}, median setup+teardown ${median}, ${kept} kept${busy}, ${remaining.left} left over`
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/** How long the summary waits for environments to finish their teardown. */
const SETTLE_TIMEOUT_MS = 5000
const SETTLE_POLL_MS = 50

/**
 * Vitest reports the end of a run before it has stopped its workers, and
 * an environment disposes its view only when its worker stops: give them
 * a moment before counting what is left. Only leaks are waited for: a
 * detached view stays until its holders exit, however long one waits.
 */
export async function settledViews(root: string, run: Owner): Promise<Remaining> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  let remaining = await remainingViews(root, run)
  while (remaining.left > 0 && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, SETTLE_POLL_MS))
    remaining = await remainingViews(root, run)
  }
  return remaining
}

/**
 * What this run left under the root: views detached on purpose (busy), and
 * what it should not have left: view dirs of the run that are neither kept
 * nor detached, and mounts in any of its dirs (kept views are unmounted too).
 * Views no test has any more are finished first (see settleUnowned).
 */
export async function remainingViews(root: string, run: Owner): Promise<Remaining> {
  const names = await readdir(root).catch(() => [] as string[])
  const remaining: Remaining = { busy: 0, left: 0 }
  for (const name of names.filter((entry) => entry.startsWith(PREFIX))) {
    const dir = join(root, name)
    const record = await readRecord(dir)
    if (!record || record.run.pid !== run.pid || record.run.start !== run.start) continue
    const mounted = (await mountsUnder(dir)).length > 0
    if (await settleUnowned(name, dir, record, mounted)) continue
    if (mounted) remaining.left++
    else if (record.detached) remaining.busy++
    else if (record.kept === undefined) remaining.left++
  }
  return remaining
}

/**
 * For a view no test has: an unmounted one waiting to be deleted (its
 * worker was stopped first) is deleted; one made ahead of time is a live
 * worker's to take down when it exits, or, if its worker is gone, taken
 * down here. True when the view is not to be counted.
 */
async function settleUnowned(
  name: string,
  dir: string,
  record: ViewRecord,
  mounted: boolean,
): Promise<boolean> {
  const gone = name.startsWith(GONE) && !mounted
  const ready = name.startsWith(READY)
  if (!gone && !ready) return false
  // isolate: false keeps workers, and their ready views, past the run's end.
  if (ready && isAlive(record.owner)) return true
  if (ready) await unmountAll(dir).catch(() => undefined)
  await removeTree(dir, { last: RECORD }).catch(() => {})
  return !existsSync(dir)
}
