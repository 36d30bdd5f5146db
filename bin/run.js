#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
// A plugin hook that timed out may still hold the event loop open; the command is done, so leave.
process.exit()
