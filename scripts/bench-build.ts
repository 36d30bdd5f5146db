// npm run bench:build, on the webapp corpus, each row interleaved with its baseline in one run:
//  - nothing changed: `kudev build` (image up to date) against a no-op classic `docker build`. Goal ≤ 0.05×.
//  - after a one-line edit of src/app.js: `kudev build` with BuildKit (Docker CLI 20.10, DOCKER_BUILDKIT=1,
//    the folder context) against plain `DOCKER_BUILDKIT=1 docker build .` of the same folder after the same
//    kind of edit. Goal ≤ 1.3×.
//  - after a one-line edit, with the classic builder: `kudev build` (tar on stdin) against classic
//    `docker build .`. Reported, no goal.
// Usage: npm run bench:build [-- --runs N] [-- --classic-runs N]
import {appendFileSync} from 'node:fs'
import {join} from 'node:path'

import {kudevBin, machine, median, run, timeProcess, webappCorpus} from './bench/corpus.js'
import {BenchTags} from './bench/tags.js'

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

const runs = flag('--runs', 5)
const classicRuns = flag('--classic-runs', 3)
const dir = webappCorpus()
const classicEnv = {...process.env, DOCKER_BUILDKIT: '0', NO_COLOR: '1'}
// Debian's CLI 20.10 runs BuildKit without buildx; the machine's CLI 28 has no buildx.
const buildkitEnv = {...process.env, DOCKER_BUILDKIT: '1', NO_COLOR: '1', PATH: `/usr/bin:${process.env.PATH}`}
const BUILDKIT_DOCKER = '/usr/bin/docker'
const tags = new BenchTags('kudev-bench/webapp')
/** `kudev build`'s wall time; the tag it prints (`<image> <id>`) is one this run made. */
const kudev = (env: NodeJS.ProcessEnv) => () => {
  const started = process.hrtime.bigint()
  const printed = run(process.execPath, [kudevBin, 'build', '-q'], {cwd: dir, env})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  tags.add(printed.split(' ')[0])
  return ms
}
const docker = (file: string, tag: string, env: NodeJS.ProcessEnv) => () => {
  tags.add(`kudev-bench/webapp:${tag}`)
  return timeProcess(file, ['build', '-q', '-t', `kudev-bench/webapp:${tag}`, '.'], {cwd: dir, env})
}

let edits = 0
/** A one-line edit of the app's source, as a developer saves it. */
function edit(): void {
  appendFileSync(join(dir, 'src', 'app.js'), `console.log('edit ${Date.now()} ${edits++}')\n`)
}

/** Times `a` and `b` `count` times each, interleaved, each after `before()`. */
function interleaved(count: number, before: () => void, a: () => number, b: () => number): [number[], number[]] {
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < count; i++) {
    before()
    times[0].push(a())
    before()
    times[1].push(b())
  }

  return times
}

/** Every row's times; the tags the builds made are removed however it ends. */
function measure() {
  try {
    process.stderr.write('first classic builds (not timed), then nothing changed…\n')
    kudev(classicEnv)()
    docker('docker', 'docker', classicEnv)()
    const [noopKudev, noopDocker] = interleaved(
      runs,
      () => {},
      kudev(classicEnv),
      docker('docker', 'docker', classicEnv),
    )
    process.stderr.write(
      'first BuildKit builds after an edit (not timed: each sends the whole folder once), then timed…\n',
    )
    interleaved(1, edit, kudev(buildkitEnv), docker(BUILDKIT_DOCKER, 'buildkit', buildkitEnv))
    const [editKudev, editDocker] = interleaved(
      runs,
      edit,
      kudev(buildkitEnv),
      docker(BUILDKIT_DOCKER, 'buildkit', buildkitEnv),
    )
    process.stderr.write('after an edit, classic builder…\n')
    const [classicKudev, classicDocker] = interleaved(
      classicRuns,
      edit,
      kudev(classicEnv),
      docker('docker', 'docker', classicEnv),
    )
    return {classicDocker, classicKudev, editDocker, editKudev, noopDocker, noopKudev}
  } finally {
    tags.remove()
  }
}

const {classicDocker, classicKudev, editDocker, editKudev, noopDocker, noopKudev} = measure()

const rows: {what: string; kudev: number[]; baseline: number[]; base: string; goal?: number}[] = [
  {base: '`docker build .` (classic)', baseline: noopDocker, goal: 0.05, kudev: noopKudev, what: 'nothing changed'},
  {
    base: '`DOCKER_BUILDKIT=1 docker build .` (CLI 20.10)',
    baseline: editDocker,
    goal: 1.3,
    kudev: editKudev,
    what: 'one-line edit, BuildKit',
  },
  {base: '`docker build .` (classic)', baseline: classicDocker, kudev: classicKudev, what: 'one-line edit, classic'},
]
let missed = false
console.log(`Machine: ${machine()}; corpus ${dir}; ${runs} runs each (${classicRuns} classic edit runs), interleaved\n`)
console.log('| row | baseline | baseline median ms | `kudev build` median ms | ratio | goal |')
console.log('| --- | --- | ---: | ---: | ---: | --- |')
for (const row of rows) {
  const ratio = median(row.kudev) / median(row.baseline)
  const met = row.goal === undefined || ratio <= row.goal
  missed ||= !met
  const goal = row.goal === undefined ? 'reported' : `≤ ${row.goal}× ${met ? 'met' : 'MISSED'}`
  console.log(
    `| ${row.what} | ${row.base} | ${median(row.baseline).toFixed(0)} | ${median(row.kudev).toFixed(0)} | ${ratio.toFixed(3)} | ${goal} |`,
  )
}

process.exitCode = missed ? 1 : 0
