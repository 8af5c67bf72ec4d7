/** Stable codes callers can branch on. */
export type ScratchfsErrorCode =
  | 'EOPTIONS'
  | 'EGOLDEN'
  | 'EROOT'
  | 'EBACKEND'
  | 'EMOUNT'
  | 'EUNMOUNT'
  | 'EBUSY'
  | 'EDISPOSED'
  | 'EVERIFY'

/**
 * Every error scratchfs throws on purpose. The message names what failed,
 * the value, why, and on its last line the fix.
 */
export class ScratchfsError extends Error {
  override name = 'ScratchfsError'
  readonly code: ScratchfsErrorCode
  readonly path: string | undefined

  constructor(
    code: ScratchfsErrorCode,
    message: string,
    options: { path?: string; fix?: string; cause?: unknown } = {},
  ) {
    const fix = options.fix ? `\nFix: ${options.fix}` : ''
    super(`${message}${fix}`, { cause: options.cause })
    this.code = code
    this.path = options.path
  }
}

/** Quotes a path so that commas, newlines and spaces stay visible. */
export function show(path: string): string {
  return JSON.stringify(path)
}

/** The errno code of a Node system error, if it has one. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}
