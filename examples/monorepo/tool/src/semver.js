// Just enough semver for workspace ranges: ^ ~ >= > <= < = x-ranges, `*`,
// spaces (and) and `||` (or). Prerelease tags order below their release.

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

export function parse(version) {
  const match = VERSION.exec(version.trim())
  if (!match) return undefined
  return { major: +match[1], minor: +match[2], patch: +match[3], pre: match[4] ?? '' }
}

export function isVersion(text) {
  return parse(text) !== undefined
}

export function compare(a, b) {
  for (const key of ['major', 'minor', 'patch']) if (a[key] !== b[key]) return a[key] - b[key]
  if (a.pre === b.pre) return 0
  if (a.pre === '') return 1
  if (b.pre === '') return -1
  return a.pre < b.pre ? -1 : 1
}

export function satisfies(version, range) {
  const parsed = parse(version)
  if (!parsed) return false
  return range.split('||').some((part) => {
    const comparators = part.trim().split(/\s+/).filter(Boolean)
    if (!comparators.every((comparator) => test(parsed, comparator))) return false
    // A prerelease only meets a range that opts into prereleases of its
    // own x.y.z: 7.31.0-rc.1 is not in ^7.29.0, but is in >=7.31.0-rc.0.
    return parsed.pre === '' || comparators.some((comparator) => samePrerelease(parsed, comparator))
  })
}

function samePrerelease(version, comparator) {
  const bound = parse(comparator.replace(/^[\^~<>=]+/, ''))
  return (
    bound !== undefined &&
    bound.pre !== '' &&
    ['major', 'minor', 'patch'].every((key) => bound[key] === version[key])
  )
}

function test(version, comparator) {
  const match = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(comparator)
  const operator = match[1] ?? '='
  const partial = match[2].replace(/^v/, '')
  if (partial === '*' || partial === 'x' || partial === '') return true

  const parts = partial.split(/[-+]/)[0].split('.')
  const wild = parts.findIndex((part) => part === 'x' || part === 'X' || part === '*')
  const given = wild === -1 ? parts.length : wild
  const full = parse(given === 3 ? partial : `${pad(parts, given).join('.')}`)
  if (!full) return false

  if (given < 3 && (operator === '=' || operator === '^' || operator === '~')) {
    // 1.x and 1.2.x: everything that starts with the given numbers.
    return prefix(version, full, given)
  }
  const order = compare(version, full)
  switch (operator) {
    case '=':
      return order === 0
    case '>=':
      return order >= 0
    case '>':
      return order > 0
    case '<=':
      return order <= 0
    case '<':
      return order < 0
    case '~':
      return order >= 0 && version.major === full.major && version.minor === full.minor
    default:
      return order >= 0 && caretTop(version, full)
  }
}

function caretTop(version, low) {
  if (low.major > 0) return version.major === low.major
  if (low.minor > 0) return version.major === 0 && version.minor === low.minor
  return version.major === 0 && version.minor === 0 && version.patch === low.patch
}

function prefix(version, full, given) {
  const keys = ['major', 'minor', 'patch'].slice(0, given)
  return keys.every((key) => version[key] === full[key])
}

function pad(parts, given) {
  return [...parts.slice(0, given), ...Array(3 - given).fill('0')]
}
