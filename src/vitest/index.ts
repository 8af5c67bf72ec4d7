export type { Scratch } from '../scratch.js'
export { currentScratch, scratchDir } from './current.js'
export { type ScratchFixture, type ScratchFixtureOptions, scratch, test } from './fixture.js'
