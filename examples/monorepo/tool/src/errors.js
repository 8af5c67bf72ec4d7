/** A failure the user can fix: printed without a stack, exit code 1. */
export class ToolError extends Error {
  name = 'ToolError'
}
