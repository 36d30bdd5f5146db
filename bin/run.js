#!/usr/bin/env node
import {readFileSync} from 'node:fs'

const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') {
  // The same line oclif prints, without loading oclif: most of kudev's startup is importing it.
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // oclif checks its own engines range with semver when imported (10 ms of every start); npm checks kudev's.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
  // A plugin hook that timed out may still hold the event loop open; the command is done, so leave.
  process.exit()
}
