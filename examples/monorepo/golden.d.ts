/** Types for golden.js, which the suite's TypeScript files import. */

export interface GoldenInfo {
  recipe: string
  members: Record<string, string>
  /** The commit the golden's main branch points at. */
  head: string
  commits: number
  files: number
  dirs: number
  links: number
  bytes: number
  fingerprint: string
  buildSeconds: number
}

export function recipeKey(): string
export function goldenPath(): string
export function goldenInfo(): GoldenInfo
export function ensureGolden(options?: {
  log?: (line: string) => void
}): Promise<{ path: string; built: boolean }>
export function cleanEnv(extra?: Record<string, string>): NodeJS.ProcessEnv
