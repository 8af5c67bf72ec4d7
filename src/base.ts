import { isAbsolute, resolve } from 'node:path'
import { show } from './errors.js'

/**
 * Where relative `golden` and `root` paths start when not from the current
 * directory: a test runner's project root, which a worker's cwd need not be.
 * Set by the Vitest fixture and environment under a symbol key, so it is
 * no option users see or could misspell.
 */
export interface Base {
  dir: string
  /** How messages name it: 'the Vitest project root'. */
  what: string
}

export const BASE = Symbol.for('scratchfs.base')

export type WithBase = { [BASE]?: Base }

export function baseOf(options: object): Base | undefined {
  return (options as WithBase)[BASE]
}

/** A path as the user gave it, made absolute from the base (or the cwd). */
export function fromBase(path: string, base: Base | undefined): string {
  return resolve(base?.dir ?? '', path)
}

/**
 * A path as the user gave it and, when it was relative, the absolute path
 * it was taken for and where that started: what a user needs when the
 * cwd and the project root differ.
 */
export function showGiven(given: string, base: Base | undefined): string {
  if (isAbsolute(given)) return show(given)
  const from = base?.what ?? 'the current directory'
  return `${show(given)} (from ${from}: ${show(fromBase(given, base))})`
}
