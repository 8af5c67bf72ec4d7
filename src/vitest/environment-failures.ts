// A setup file the scratchfs() plugin adds to the run. An environment is not
// told how its tests went, but hooks registered here see each test of the
// file: a failed one marks the environment's view, which is then kept.
import { afterAll, beforeEach } from 'vitest'
import { hasCurrentScratch, recordCurrentVerdict } from './current.js'

if (hasCurrentScratch()) {
  beforeEach(({ task, onTestFinished }) => {
    onTestFinished(() => {
      // As the scratch fixture reads it: the state is set before a `fails`
      // test's is turned around, and only the final verdict counts. Each
      // attempt of a retried test ends here; the last one's stands.
      recordCurrentVerdict(task.id, (task.result?.state === 'fail') !== (task.fails === true))
    })
  })

  // A hook of the file's that failed (a beforeAll, say) fails no test.
  // Vitest reads the first parameter as a pattern of the fixtures it uses.
  // biome-ignore lint/correctness/noEmptyPattern: none are used
  afterAll(({}, file) => {
    if (file?.result?.state === 'fail') recordCurrentVerdict(file.id, true)
  })
}
