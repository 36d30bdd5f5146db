// npm run bench:build: a no-op `kudev build` (image up to date) against a no-op `docker build` of the same
// context, interleaved in one run. Goal: ≤ 0.05×. Usage: npm run bench:build [-- --runs N]
import {kudevBin, machine, median, run, timeProcess, webappCorpus} from './bench/corpus.js'

const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 5 : Number(process.argv[runsFlag + 1])
const dir = webappCorpus()
const env = {...process.env, NO_COLOR: '1'}

process.stderr.write('first build (not timed)…\n')
run(process.execPath, [kudevBin, 'build', '-q'], {cwd: dir, env})
run('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env})

const kudev: number[] = []
const docker: number[] = []
for (let i = 0; i < runs; i++) {
  kudev.push(timeProcess(process.execPath, [kudevBin, 'build', '-q'], {cwd: dir, env}))
  docker.push(timeProcess('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env}))
}

const ratio = median(kudev) / median(docker)
console.log(`Machine: ${machine()}; corpus ${dir}; ${runs} runs each, interleaved\n`)
console.log('| command (nothing changed) | median ms | ratio | goal |')
console.log('| --- | ---: | ---: | --- |')
console.log(
  `| \`docker build .\` (classic builder, whole context sent) | ${median(docker).toFixed(0)} | 1.00 | baseline |`,
)
console.log(
  `| \`kudev build\` | ${median(kudev).toFixed(0)} | ${ratio.toFixed(3)} | ≤ 0.05× ${ratio <= 0.05 ? 'met' : 'MISSED'} |`,
)
process.exitCode = ratio <= 0.05 ? 0 : 1
