import { formatWithOptions } from 'node:util'

const enabled = (() => {
  const value = process.env.DEBUG ?? ''
  return value.split(/[\s,]+/).some((word) => /^scratchfs(:|$)|^\*$/.test(word))
})()

type Log = (format: string, ...args: unknown[]) => void

const off: Log = () => {}

/**
 * A namespaced logger for `DEBUG=scratchfs:*`; when DEBUG does not name
 * scratchfs it is a no-op and formats nothing.
 */
export function debug(namespace: string): Log {
  if (!enabled) return off
  const prefix = `scratchfs:${namespace}`
  return (format, ...args) => {
    const line = formatWithOptions({ colors: false }, format, ...args)
    process.stderr.write(`${prefix} ${line}\n`)
  }
}
