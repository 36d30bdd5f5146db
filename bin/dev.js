#!/usr/bin/env -S node --no-warnings
// Runs the TypeScript sources directly (oclif maps dist/ to src/ in development mode). tsx is registered
// from here, not with `node --import tsx`, so that it resolves from this checkout whatever the working folder.
import {register} from 'tsx/esm/api'

register()
const {main} = await import('../src/cli/main.ts')
process.exit(await main({argv: process.argv.slice(2), development: true, dir: import.meta.url}))
