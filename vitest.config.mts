// How the suite loads netsock (one rule): a test in this process imports the
// public API from src/index.ts (vitest compiles it; a test of one internal unit
// imports that unit and says so in its header); code a test starts in a child
// process, a worker or a namespace loads the CommonJS build in dist/ (what
// `require('netsock')` loads; `npm test` builds it first); test/types compiles
// against dist/'s declarations, and test/pack.test.ts installs the packed
// tarball as a user would.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 20000,
    hookTimeout: 30000,
  },
})
