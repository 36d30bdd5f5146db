#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the TypeScript sources directly (oclif maps dist/ to src/ in development mode).
import {execute} from '@oclif/core/execute'

await execute({development: true, dir: import.meta.url})
