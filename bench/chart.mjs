// A grouped bar chart of ms per view (everything included), log scale, as plain SVG.

const COLORS = [
  '#1b7f3b',
  '#48b36b',
  '#8fd19e',
  '#2b6cb0',
  '#b7791f',
  '#c05621',
  '#9b2c2c',
  '#6b46c1',
  '#4a5568',
]
const xml = (text) => String(text).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)

/** rows: { golden, contender, everything }[] */
export function chartSvg(rows, title) {
  const goldens = [...new Set(rows.map((row) => row.golden))]
  const contenders = [...new Set(rows.map((row) => row.contender))]
  const width = 860
  const left = 60
  const top = 50
  const plot = 300
  const bottom = top + plot
  const groupWidth = (width - left - 20) / goldens.length
  const bar = Math.min(22, (groupWidth - 20) / contenders.length)
  const values = rows.map((row) => row.everything).filter((value) => value > 0)
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)))
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)))
  const y = (value) => bottom - (Math.log10(value / low) / Math.log10(high / low)) * plot

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bottom + 60 + 18 * Math.ceil(contenders.length / 4)}" font-family="sans-serif" font-size="12">`,
    `<title>${xml(title)}</title>`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${left}" y="24" font-size="15" font-weight="bold">${xml(title)}</text>`,
  ]
  for (let tick = low; tick <= high; tick *= 10) {
    const label = tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`
    parts.push(
      `<line x1="${left}" x2="${width - 20}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end" fill="#555">${label}</text>`,
    )
  }
  goldens.forEach((golden, group) => {
    const x0 = left + group * groupWidth + 10
    contenders.forEach((contender, index) => {
      const row = rows.find((r) => r.golden === golden && r.contender === contender)
      if (!row || !(row.everything > 0)) return
      const x = x0 + index * bar
      const top = y(row.everything)
      parts.push(
        `<rect x="${x}" y="${top}" width="${bar - 2}" height="${bottom - top}" fill="${COLORS[index % COLORS.length]}"><title>${xml(`${contender} on ${golden}: ${row.everything.toFixed(2)} ms`)}</title></rect>`,
      )
    })
    parts.push(
      `<text x="${x0 + (contenders.length * bar) / 2}" y="${bottom + 18}" text-anchor="middle">${xml(golden)}</text>`,
    )
  })
  contenders.forEach((contender, index) => {
    const x = left + (index % 4) * 200
    const row = bottom + 40 + 18 * Math.floor(index / 4)
    parts.push(
      `<rect x="${x}" y="${row - 10}" width="12" height="12" fill="${COLORS[index % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="${row}">${xml(contender)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
