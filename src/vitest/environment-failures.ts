// A setup file the scratchfs() plugin adds to the run. An environment is not
// told how its tests went, but hooks registered here see each test of the
// file: a failed one marks the environment's view, which is then kept.
import { beforeEach } from 'vitest'
import { hasCurrentScratch, markCurrentFailed } from './current.js'

if (hasCurrentScratch()) {
  beforeEach(({ task, onTestFinished }) => {
    onTestFinished(() => {
      // As the scratch fixture reads it: the state is set before a `fails`
      // test's is turned around, and only the final verdict counts.
      if ((task.result?.state === 'fail') !== (task.fails === true)) markCurrentFailed()
    })
  })
}
