export { default } from 'scratchfs/environment'
