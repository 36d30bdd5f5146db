#!/usr/bin/env node
// Hash benchmark (issue 3): `kudev hash` cold (no stat cache, no tree snapshot), warm (nothing changed) and with one file
// changed, against `git add -A` into a fresh index, `git status --porcelain` on a refreshed index and
// `find | sort | xargs sha256sum`, each timed as a whole process, interleaved round by round so machine
// noise hits all alike; medians. Peak RSS from /usr/bin/time.
// Two corpora: ../shared/bench/webapp installed with `npm ci --ignore-scripts` (about 45,000 files, 780 MB)
// and a generated tree of 100,000 small files, each with a .dockerignore holding only `.git`. Both are kept
// under $KUDEV_BENCH_DIR/hash (default /tmp/kudev-bench/hash) between runs.
// Usage: npm run build && npm run bench:hash [-- --runs N]
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync} from 'node:fs'
import {cpus, tmpdir, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'run.js')
const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 5 : Number(process.argv[runsFlag + 1])
const benchDir = join(process.env.KUDEV_BENCH_DIR ?? '/tmp/kudev-bench', 'hash')
const TIME = '/usr/bin/time'
const GOALS = {cold: 0.3, rssMb: 200, warm: 1}

if (!existsSync(join(root, 'dist', 'commands', 'hash.js')))
  throw new Error('dist/ is missing: run `npm run build` first')
if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt-get install time): it measures peak memory`)

function run(file, args, options = {}) {
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  })
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return result.stdout
}

function projectFiles(dir, name) {
  writeFileSync(join(dir, '.dockerignore'), '.git\n')
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
  writeFileSync(
    join(dir, '.kudev.yaml'),
    `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: ${name}}\nspec: {imageName: kudev-bench/${name}}\n`,
  )
  writeFileSync(join(dir, 'changed.txt'), 'initial\n')
}

function webapp() {
  const dir = join(benchDir, 'webapp')
  mkdirSync(dir, {recursive: true})
  if (!existsSync(join(dir, 'node_modules', '.package-lock.json'))) {
    for (const file of ['package.json', 'package-lock.json'])
      copyFileSync(join(root, '..', 'shared', 'bench', 'webapp', file), join(dir, file))
    process.stderr.write(`installing the webapp corpus in ${dir} (npm ci --ignore-scripts)…\n`)
    run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {cwd: dir})
  }

  return dir
}

/** 100 folders × 10 subfolders × 100 files of 100 to 1,100 bytes, the same on every machine. */
function generated() {
  const dir = join(benchDir, 'generated')
  const marker = join(dir, '.generated')
  if (existsSync(marker)) return dir
  process.stderr.write(`generating 100,000 files in ${dir}…\n`)
  rmSync(dir, {force: true, recursive: true})
  let seed = 1
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  for (let top = 0; top < 100; top++) {
    for (let sub = 0; sub < 10; sub++) {
      const folder = join(dir, `pkg-${top}`, `mod-${sub}`)
      mkdirSync(folder, {recursive: true})
      for (let file = 0; file < 100; file++) {
        const line = `export const v${file} = ${Math.floor(random() * 1e9)}\n`
        writeFileSync(join(folder, `file-${file}.js`), line.repeat(Math.ceil((100 + random() * 1000) / line.length)))
      }
    }
  }

  writeFileSync(marker, '')
  return dir
}

/** A repository with everything committed, so `git status` compares against a refreshed index. */
function prepareGit(dir) {
  if (!existsSync(join(dir, '.git'))) {
    run('git', ['init', '-q'], {cwd: dir})
    run('git', ['add', '-A'], {cwd: dir})
    run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'corpus'], {
      cwd: dir,
    })
  }

  run('git', ['update-index', '-q', '--refresh'], {cwd: dir})
}

/**
 * The lists the Node floors (scripts/bench-hash-floor.js) work on, from the committed tree: every path a warm
 * hash stats (files, symlinks and their folders) and every regular file a cold hash reads.
 */
function floorLists(dir, name) {
  const tracked = run('git', ['ls-files', '-s', '-z'], {cwd: dir})
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, file] = line.split('\t')
      return {file, symlink: meta.startsWith('120000')}
    })
  const folders = new Set([''])
  for (const {file} of tracked) {
    for (let at = file.lastIndexOf('/'); at > 0; at = file.lastIndexOf('/', at - 1)) folders.add(file.slice(0, at))
  }

  const absolute = (rel) => (rel === '' ? dir : join(dir, rel))
  const lstatList = join(scratch, `lstat-${name}`)
  const readList = join(scratch, `read-${name}`)
  writeFileSync(lstatList, [...folders, ...tracked.map(({file}) => file)].map(absolute).join('\0'))
  writeFileSync(
    readList,
    tracked
      .filter(({symlink}) => !symlink)
      .map(({file}) => absolute(file))
      .join('\0'),
  )
  return {lstatList, readList}
}

/** Wall time of the whole process (ms) and its peak RSS (MB). */
function measure(file, args, options) {
  const rssFile = join(scratch, 'rss')
  const started = process.hrtime.bigint()
  run(TIME, ['-f', '%M', '-o', rssFile, file, ...args], options)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return {ms, rssMb: Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024}
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function benchmark(name, dir) {
  projectFiles(dir, name)
  prepareGit(dir)
  const cacheDir = join(scratch, `cache-${name}`)
  const env = {...process.env, KUDEV_CACHE_DIR: cacheDir, NO_COLOR: '1'}
  const kudev = () => measure(process.execPath, [bin, 'hash'], {cwd: dir, env})
  const index = join(scratch, `index-${name}`)
  const floor = join(root, 'scripts', 'bench-hash-floor.js')
  const {lstatList, readList} = floorLists(dir, name)
  const cases = {
    gitAdd: () => {
      rmSync(index, {force: true})
      return measure('git', ['add', '-A'], {cwd: dir, env: {...process.env, GIT_INDEX_FILE: index}})
    },
    // The same with no object stored yet, as in a repository that never committed the tree: git also
    // compresses and writes every blob (test-environment.md's one-off 4.3 s was this kind of run).
    gitAddNewObjects: () => {
      rmSync(index, {force: true})
      const objects = join(scratch, `objects-${name}`)
      rmSync(objects, {force: true, recursive: true})
      mkdirSync(objects)
      return measure('git', ['add', '-A'], {
        cwd: dir,
        env: {...process.env, GIT_INDEX_FILE: index, GIT_OBJECT_DIRECTORY: objects},
      })
    },
    gitStatus: () => measure('git', ['status', '--porcelain'], {cwd: dir}),
    sha256sum: () =>
      measure('sh', ['-c', 'find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum'], {cwd: dir}),
    // What Node alone costs for the least work each kudev run must do (the script says what it does).
    floorWarm: () => measure(process.execPath, [floor, 'lstat', lstatList], {cwd: root}),
    floorCold: () => measure(process.execPath, [floor, 'read', readList], {cwd: root}),
    cold: () => {
      rmSync(cacheDir, {force: true, recursive: true})
      return kudev()
    },
    warm: kudev,
    oneChanged: () => {
      writeFileSync(join(dir, 'changed.txt'), `${process.hrtime.bigint()}\n`)
      return kudev()
    },
  }
  const samples = Object.fromEntries(Object.keys(cases).map((key) => [key, []]))
  cases.warm() // page cache and JIT warm-up, not measured
  for (let round = 0; round < runs; round++) {
    for (const [key, measureCase] of Object.entries(cases)) samples[key].push(measureCase())
    process.stderr.write(`${name}: round ${round + 1}/${runs}\n`)
  }

  const result = Object.fromEntries(
    Object.entries(samples).map(([key, values]) => [
      key,
      {ms: median(values.map((v) => v.ms)), rssMb: Math.max(...values.map((v) => v.rssMb))},
    ]),
  )
  const summary = JSON.parse(run(process.execPath, [bin, 'hash', '--json'], {cwd: dir, env}))
  return {name, result, summary}
}

const scratch = mkdtempSync(join(tmpdir(), 'kudev-bench-hash-'))
try {
  const corpora = [benchmark('webapp', webapp()), benchmark('generated', generated())]
  const git = run('git', ['--version']).trim()
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${git}; ${runs} rounds, medians\n`,
  )
  console.log('| corpus | command | median ms | peak RSS MB | ratio | goal |')
  console.log('| --- | --- | ---: | ---: | ---: | --- |')
  let failed = false
  for (const {name, result, summary} of corpora) {
    const label = `${name} (${summary.files.toLocaleString('en-US')} files, ${Math.round(summary.bytes / 1e6)} MB)`
    const row = (command, sample, ratio, goal) => {
      const verdict = goal === undefined ? '' : `≤ ${goal}× ${ratio <= goal ? 'met' : 'MISSED'}`
      if (goal !== undefined && ratio > goal) failed = true
      console.log(
        `| ${label} | ${command} | ${sample.ms.toFixed(0)} | ${sample.rssMb.toFixed(0)} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}×`} | ${verdict} |`,
      )
    }

    row('`git add -A` (fresh index)', result.gitAdd)
    row('`git add -A` (fresh index, empty object store)', result.gitAddNewObjects)
    row('`git status --porcelain`', result.gitStatus)
    row('`find | sort | xargs sha256sum`', result.sha256sum)
    row(
      'Node floor, cold: read + sha256 every file, 2 threads',
      result.floorCold,
      result.floorCold.ms / result.gitAdd.ms,
    )
    row('`kudev hash`, cold (no caches)', result.cold, result.cold.ms / result.gitAdd.ms, GOALS.cold)
    row(
      'Node floor, warm: import @oclif/core + lstat every entry',
      result.floorWarm,
      result.floorWarm.ms / result.gitStatus.ms,
    )
    row('`kudev hash`, warm', result.warm, result.warm.ms / result.gitStatus.ms, GOALS.warm)
    row('`kudev hash`, one file changed', result.oneChanged, result.oneChanged.ms / result.gitStatus.ms)
    const peak = Math.max(result.cold.rssMb, result.warm.rssMb, result.oneChanged.rssMb)
    const rssOk = peak <= GOALS.rssMb
    if (!rssOk) failed = true
    console.log(
      `| ${label} | \`kudev hash\` peak RSS | | ${peak.toFixed(0)} | | ≤ ${GOALS.rssMb} MB ${rssOk ? 'met' : 'MISSED'} |`,
    )
  }

  console.log(
    '\nRatios: cold against `git add -A` with every blob already stored (it only hashes, as kudev does), warm and',
  )
  console.log(
    'one-file-changed against `git status --porcelain`; each Node floor against the same baseline as the row after it.',
  )
  console.log('Against `git add -A` into an empty object store, kudev cold is:')
  for (const {name, result} of corpora)
    console.log(`${name} ${(result.cold.ms / result.gitAddNewObjects.ms).toFixed(2)}×.`)
  process.exitCode = failed ? 1 : 0
} finally {
  rmSync(scratch, {force: true, recursive: true})
}
