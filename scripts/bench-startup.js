#!/usr/bin/env node
// Startup benchmark: medians of `kudev --version` and `kudev --help` against `node -e 0`, measured
// interleaved in one run so machine noise hits all three alike. Usage: npm run bench:startup [-- --runs N]
import {spawnSync} from 'node:child_process'
import {cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'run.js')
const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 21 : Number(process.argv[runsFlag + 1])

const cases = [
  {args: ['-e', '0'], goal: undefined, name: 'node -e 0'},
  {args: [bin, '--version'], goal: 2, name: 'kudev --version'},
  {args: [bin, '--help'], goal: 2.5, name: 'kudev --help'},
  // No goal: shows the cost of dispatching to a command through oclif, which --version skips.
  {args: [bin, 'validate', '--help'], goal: undefined, name: 'kudev validate --help'},
]

function timeOnce(args) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {env: {...process.env, NO_COLOR: '1'}, stdio: 'ignore'})
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`)
  return Number(process.hrtime.bigint() - start) / 1e6
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

for (const c of cases) timeOnce(c.args) // warm the file cache
const samples = cases.map(() => [])
for (let i = 0; i < runs; i++) for (const [index, c] of cases.entries()) samples[index].push(timeOnce(c.args))

const baseline = median(samples[0])
let failed = false
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${runs} runs each, interleaved\n`,
)
console.log('| command | median ms | × node -e 0 | goal |')
console.log('| --- | ---: | ---: | --- |')
for (const [index, c] of cases.entries()) {
  const m = median(samples[index])
  const ratio = m / baseline
  let verdict = index === 0 ? 'baseline' : ''
  if (c.goal !== undefined) verdict = `≤ ${c.goal}× ${ratio <= c.goal ? 'met' : 'MISSED'}`
  if (c.goal !== undefined && ratio > c.goal) failed = true
  console.log(`| \`${c.name}\` | ${m.toFixed(0)} | ${ratio.toFixed(2)} | ${verdict} |`)
}

process.exitCode = failed ? 1 : 0
