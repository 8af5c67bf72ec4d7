import { readdir } from 'node:fs/promises'
import { expect } from 'vitest'
import { createScratch, ScratchfsError } from '../../src/index.js'
import { PREFIX } from '../../src/root.js'
import { mountsBelow } from '../helpers.js'

export interface Refusal {
  code: string
  /** Every path the message must name, as scratchfs shows paths (JSON-quoted). */
  paths: string[]
  /** The reason, as the message words it. */
  reason: RegExp
}

/**
 * What the error must say: the paths, the reason and, on its own line, the
 * fix. Takes the error's fields, so an error reported by a child process
 * is checked the same way.
 */
export function expectRefusal(
  error: { name?: string; code?: string; message?: string },
  refusal: Refusal,
): void {
  const { name, code, message = '' } = error
  expect({ name, code }).toEqual({ name: 'ScratchfsError', code: refusal.code })
  for (const path of refusal.paths) expect(message).toContain(JSON.stringify(path))
  expect(message).toMatch(refusal.reason)
  expect(message).toMatch(/\nFix: \S.{10,}/)
}

/**
 * createScratch(options) must fail with `refusal`, having mounted nothing
 * below `base` and made no view dir in `root`.
 */
export async function expectRefused(
  options: Parameters<typeof createScratch>[0],
  refusal: Refusal,
  where: { base: string; root: string },
): Promise<ScratchfsError> {
  const error = await createScratch(options).then(
    (scratch) => scratch.dispose().then(() => undefined),
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(ScratchfsError)
  expectRefusal(error as ScratchfsError, refusal)
  expect(await leftViews(where.root)).toEqual([])
  expect(await mountsBelow(where.base)).toEqual([])
  return error as ScratchfsError
}

export async function leftViews(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [])
  return names.filter((name) => name.startsWith(PREFIX))
}
