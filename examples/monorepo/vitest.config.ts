import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scratchfs } from 'scratchfs/config'
import { defineConfig } from 'vitest/config'
import { goldenPath } from './golden.js'

const here = dirname(fileURLToPath(import.meta.url))

// run.js builds the golden first; `node examples/monorepo/golden.js` does it by hand.
const golden = goldenPath()

// A root of its own, so run.js can check that this suite left nothing behind.
const root =
  process.env.MONOREPO_ROOT ?? join(tmpdir(), `scratchfs-monorepo-${process.getuid?.() ?? 0}`)

// MONOREPO_BACKEND=copy runs the same suite on full copies, for comparison.
const backend = (process.env.MONOREPO_BACKEND ?? 'auto') as 'auto' | 'overlay' | 'copy'

export default defineConfig({
  plugins: [scratchfs({ golden, root, backend })],
  test: {
    root: here,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
