#!/usr/bin/env node
import {readFileSync} from 'node:fs'

const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') {
  // The same line oclif prints, without loading oclif: most of kudev's startup is importing it.
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // oclif, with every failure in kudev's form (one line, a hint, a documented exit code): src/cli/main.ts.
  const {main} = await import('../dist/cli/main.js')
  const code = await main({argv, dir: import.meta.url})
  // A plugin hook that timed out may still hold the event loop open; the command is done, so leave.
  process.exit(code)
}
