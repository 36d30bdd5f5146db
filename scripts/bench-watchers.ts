// Which file watcher `kudev up --watch` should use (issue #15): @parcel/watcher 2.6.0 against chokidar 4 (and
// chokidar 5, which mocha already brings in and which declares Node >= 20.19), measured rather than guessed.
// Every measure runs in a fresh child process (this script with --child), one library per child:
//  - on the webapp corpus (about 45,000 files): time until the subscription is ready, RSS, inotify watches held
//    (`inotify wd:` lines in /proc/self/fdinfo/*), write → event latency (median of 20 single-file edits),
//    with and without node_modules and .git left out of the watch, and whether a write under a left-out
//    folder is still reported;
//  - on a copy of a small real tree (@mui/utils from the corpus, about 500 files) made a git repository with
//    two branches: an editor's atomic saves, `git checkout` of the other branch (the reported paths against
//    `git diff --name-only`), a folder deleted and made again, a folder made inside a new folder (then
//    written to once quiet: was it ever watched?), a symlink to a folder outside the root, the
//    root itself deleted, 50,000 files created at once (more than the inotify queue's 16,384 events), and the
//    inotify watch limit reached, at start and later. The limit is lowered only for the child: it runs in a
//    user namespace of its own (`unshare --user --map-root-user`) whose /proc/sys/user/max_inotify_watches is
//    set low; the machine's fs.inotify.max_user_watches is not touched.
//  - @parcel/watcher's writeSnapshot / getEventsSince on the corpus (catching up after a restart).
// The candidates are installed with `npm install --no-save` into a scratch folder (KUDEV_WATCHERS_DIR to use
// an existing one). Prints the tables in Markdown on stdout.
// Usage: node --import tsx scripts/bench-watchers.ts [--runs N] [--only parcel,chokidar4,chokidar5]
//   [--scenarios corpus,git-checkout,…] [--json FILE]
import {execFile, spawnSync} from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {appendFile, mkdir, rename, rm, unlink, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {cpus, release, tmpdir, totalmem} from 'node:os'
import {join, relative} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {promisify} from 'node:util'

import {median, run, webappCorpus} from './bench/corpus.js'

const LIBRARIES = {
  parcel: {spec: '@parcel/watcher@2.6.0', module: '@parcel/watcher'},
  // 4.0.3 is the newest 4.x (npm view chokidar versions); 5.0.0 declares node >= 20.19, 6.x >= 22.22.
  chokidar4: {spec: 'chokidar@4.0.3', module: 'chokidar'},
  chokidar5: {spec: 'chokidar5@npm:chokidar@5.0.0', module: 'chokidar5'},
} as const
type Library = keyof typeof LIBRARIES

type Scenario =
  | 'corpus'
  | 'corpus-ignore'
  | 'atomic-rename'
  | 'atomic-backup'
  | 'git-checkout'
  | 'folder-recreate'
  | 'nested-folder'
  | 'symlink'
  | 'root-deleted'
  | 'burst'
  | 'limit-at-start'
  | 'limit-later'
  | 'snapshot'

interface WatchEvent {
  path: string
  type: string
  t: number
}
interface Watching {
  events: WatchEvent[]
  batches: number
  errors: string[]
  readyMs: number
  close(): Promise<void>
}
interface ChildJob {
  library: Library
  scenario: Scenario
  root: string
  librariesDir: string
  outside?: string
}
type ChildResult = Record<string, unknown> & {library: Library; scenario: Scenario}

// ---------------------------------------------------------------------------------------------------------------
// Child: one library, one scenario, one JSON line on stdout.

interface ParcelEvent {
  path: string
  type: string
}
interface ParcelWatcher {
  subscribe(
    dir: string,
    fn: (err: Error | null, events: ParcelEvent[]) => void,
    opts?: {ignore?: string[]; backend?: string},
  ): Promise<{unsubscribe(): Promise<void>}>
  writeSnapshot(dir: string, snapshot: string, opts?: {ignore?: string[]}): Promise<string>
  getEventsSince(dir: string, snapshot: string, opts?: {ignore?: string[]}): Promise<ParcelEvent[]>
}
interface ChokidarWatcher {
  on(event: string, listener: (...args: never[]) => void): ChokidarWatcher
  close(): Promise<void>
}
interface Chokidar {
  watch(path: string, options: Record<string, unknown>): ChokidarWatcher
}

const now = () => performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20)
const execFileAsync = promisify(execFile)

function inotifyWatches(): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    try {
      count += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('inotify wd:')).length
    } catch {
      // the fd was closed between readdir and read
    }
  }
  return count
}

function loadParcel(librariesDir: string): ParcelWatcher {
  return createRequire(join(librariesDir, 'package.json'))('@parcel/watcher') as ParcelWatcher
}

async function loadChokidar(librariesDir: string, name: string): Promise<Chokidar> {
  const entry = createRequire(join(librariesDir, 'package.json')).resolve(name)
  const loaded = (await import(pathToFileURL(entry).href)) as Partial<Chokidar> & {default?: Chokidar}
  return loaded.watch ? (loaded as Chokidar) : loaded.default!
}

/** Subscribes; a failed subscription comes back as `errors` with `readyMs` -1 instead of throwing. */
async function startWatching(job: ChildJob, ignored: string[]): Promise<Watching> {
  const watching: Watching = {events: [], batches: 0, errors: [], readyMs: -1, close: async () => {}}
  const started = now()
  if (job.library === 'parcel') {
    const parcel = loadParcel(job.librariesDir)
    try {
      const subscription = await parcel.subscribe(
        job.root,
        (err, events) => {
          const t = now()
          watching.batches++
          if (err) watching.errors.push(`callback error: ${err.message}`)
          for (const event of events) watching.events.push({path: event.path, type: event.type, t})
        },
        {ignore: ignored},
      )
      watching.readyMs = now() - started
      watching.close = () => subscription.unsubscribe()
    } catch (error) {
      watching.errors.push(`subscribe rejected: ${(error as Error).message}`)
    }
    return watching
  }

  const chokidar = await loadChokidar(job.librariesDir, LIBRARIES[job.library].module)
  const watcher = chokidar.watch(job.root, {
    ignoreInitial: true,
    ignored:
      ignored.length > 0 ? (path: string) => ignored.some((dir) => path === dir || path.startsWith(dir + '/')) : [],
  })
  watcher.on('all', (type: string, path: string) => {
    watching.batches++
    watching.events.push({path, type, t: now()})
  })
  watcher.on('error', (error: NodeJS.ErrnoException) =>
    watching.errors.push(`'error' event: ${error.code ?? ''} ${error.message}`),
  )
  await new Promise<void>((resolve) => {
    watcher.on('ready', () => resolve())
    // chokidar emits no 'ready' when it cannot watch the root at all
    setTimeout(resolve, 120_000)
  })
  watching.readyMs = now() - started
  watching.close = () => watcher.close()
  return watching
}

/** Waits until no event has arrived for `quietMs` (at most `maxMs`). */
async function settle(watching: Watching, quietMs = 1000, maxMs = 30_000): Promise<void> {
  const started = now()
  let seen = -1
  let quietSince = now()
  while (now() - started < maxMs) {
    if (watching.events.length !== seen) {
      seen = watching.events.length
      quietSince = now()
    } else if (now() - quietSince >= quietMs) return
    await sleep(50)
  }
}

function eventsSince(watching: Watching, from: number, root: string): string[] {
  return watching.events.slice(from).map((event) => `${event.type} ${relative(root, event.path) || '.'}`)
}

async function child(job: ChildJob): Promise<ChildResult> {
  const {root} = job
  const result: ChildResult = {library: job.library, scenario: job.scenario}
  const rssBefore = rssMb()
  if (job.scenario === 'snapshot') return {...result, ...(await snapshotScenario(job))}

  const ignored =
    job.scenario === 'corpus-ignore' ? [join(root, 'node_modules'), join(root, '.git')] : [join(root, '.git')]
  const watching = await startWatching(job, job.scenario === 'corpus' ? [] : ignored)
  Object.assign(result, {
    readyMs: Math.round(watching.readyMs),
    rssBeforeMb: rssBefore,
    rssMb: rssMb(),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    watches: inotifyWatches(),
  })
  const mark = () => watching.events.length

  switch (job.scenario) {
    case 'corpus':
    case 'corpus-ignore': {
      // a file of this benchmark's own: other benchmarks edit src/app.js of the same corpus
      const edited = join(root, 'src', 'watch-bench.js')
      const latencies: number[] = []
      let missed = 0
      for (let edit = 0; edit < 20; edit++) {
        // apart by more than @parcel/watcher's 500 ms debounce ceiling, as saves by hand are
        await sleep(600)
        const from = mark()
        const written = now()
        await writeFile(edited, `console.log('app ${edit}')\n`)
        const deadline = now() + 3000
        let reported: WatchEvent | undefined
        while (!reported && now() < deadline) {
          reported = watching.events.slice(from).find((event) => event.path === edited)
          if (!reported) await sleep(1)
        }
        if (reported) latencies.push(reported.t - written)
        else missed++
      }
      await settle(watching, 700)
      // a write under node_modules: reported when node_modules is watched, not when it is left out
      const probe = join(root, 'node_modules', 'react', 'kudev-watch-probe.js')
      const from = mark()
      await writeFile(probe, 'x\n')
      await sleep(1500)
      const probeReported = watching.events.slice(from).some((event) => event.path === probe)
      await unlink(probe)
      await settle(watching, 700)
      Object.assign(result, {latencies, latencyMedianMs: median(latencies), missed, probeReported})
      break
    }
    case 'atomic-rename': {
      // an editor's atomic save (VS Code, JetBrains "safe write", vim with backupcopy=no's cousin):
      // the new content goes to a temporary file in the same folder, renamed over the original
      const from = mark()
      await writeFile(join(root, 'src', '.app.js.kudev-tmp'), "console.log('saved')\n")
      await rename(join(root, 'src', '.app.js.kudev-tmp'), join(root, 'src', 'app.js'))
      await settle(watching)
      const events = eventsSince(watching, from, root)
      Object.assign(result, {
        events,
        originalReported: events.some((event) => event.endsWith(' src/app.js')),
      })
      break
    }
    case 'atomic-backup': {
      // the other atomic save (vim's writebackup with backupcopy=no, gedit): original renamed away to a
      // backup, new file written under the original name, backup deleted
      const from = mark()
      await rename(join(root, 'src', 'app.js'), join(root, 'src', 'app.js~'))
      await writeFile(join(root, 'src', 'app.js'), "console.log('saved')\n")
      await unlink(join(root, 'src', 'app.js~'))
      await settle(watching)
      const events = eventsSince(watching, from, root)
      Object.assign(result, {events, originalReported: events.some((event) => event.endsWith(' src/app.js'))})
      break
    }
    case 'git-checkout': {
      const git = (...args: string[]) => execFileAsync('git', ['-C', root, ...args], {maxBuffer: 1 << 26})
      for (const [from, to] of [
        ['main', 'other'],
        ['other', 'main'],
      ] as const) {
        const expected = (await git('diff', '--name-only', from, to)).stdout.split('\n').filter(Boolean)
        const first = mark()
        const started = now()
        await git('checkout', '-q', to)
        await settle(watching, 1500)
        const reported = new Set(watching.events.slice(first).map((event) => relative(root, event.path)))
        const covered = (path: string) => {
          for (let at = path; at !== '.'; at = at.includes('/') ? at.slice(0, at.lastIndexOf('/')) : '.')
            if (reported.has(at)) return true
          return false
        }
        const lastEvent = watching.events.at(-1)
        result[`${from}→${to}`] = {
          expected: expected.length,
          events: watching.events.length - first,
          distinctPaths: reported.size,
          missedExact: expected.filter((path) => !reported.has(path)).length,
          missedExactSample: expected.filter((path) => !reported.has(path)).slice(0, 3),
          missedEvenByFolder: expected.filter((path) => !covered(path)),
          extra: [...reported].filter((path) => !expected.includes(path)).length,
          lastEventMs: lastEvent && lastEvent.t > started ? Math.round(lastEvent.t - started) : null,
        }
      }
      break
    }
    case 'folder-recreate': {
      // `rm -rf dir && mkdir dir && write files`, as fast as a shell does it, three times
      const rounds = []
      for (const dir of ['deepmerge', 'clamp', 'debounce']) {
        const before = readdirSync(join(root, dir))
        const first = mark()
        await execFileAsync('sh', [
          '-c',
          `cd '${root}' && rm -rf ${dir} && mkdir -p ${dir}/sub && ` +
            `for i in $(seq 1 40); do echo v$i > ${dir}/f$i.js; done && ` +
            `for i in $(seq 1 10); do echo v$i > ${dir}/sub/g$i.js; done`,
        ])
        await settle(watching)
        const reported = new Set(watching.events.slice(first).map((event) => relative(root, event.path)))
        const created = [
          ...Array.from({length: 40}, (_, i) => `${dir}/f${i + 1}.js`),
          ...Array.from({length: 10}, (_, i) => `${dir}/sub/g${i + 1}.js`),
        ]
        rounds.push({
          newFilesReported: created.filter((path) => reported.has(path)).length,
          newFiles: created.length,
          oldFilesReportedDeleted: before.filter((name) => reported.has(`${dir}/${name}`)).length,
          oldFiles: before.length,
          folderReported: reported.has(dir),
        })
      }
      result.rounds = rounds
      break
    }
    case 'nested-folder': {
      // `mkdir -p a/b && write a/b/f` (as git checkout and npm install do), then, once all is quiet, a write
      // into a/b: is the folder made inside a new folder watched at all?
      let nestedCreateReported = 0
      let laterWritesReported = 0
      for (let round = 0; round < 10; round++) {
        const first = mark()
        await execFileAsync('sh', [
          '-c',
          `cd '${root}' && mkdir -p new${round}/inner && echo x > new${round}/inner/f.js`,
        ])
        await settle(watching, 700)
        if (watching.events.slice(first).some((event) => relative(root, event.path) === `new${round}/inner`))
          nestedCreateReported++
        const second = mark()
        await writeFile(join(root, `new${round}`, 'inner', 'later.js'), 'y\n')
        await settle(watching, 700)
        if (watching.events.slice(second).some((event) => relative(root, event.path) === `new${round}/inner/later.js`))
          laterWritesReported++
      }
      Object.assign(result, {nestedCreateReported, laterWritesReported, rounds: 10})
      break
    }
    case 'symlink': {
      // `linked` is a symlink to a folder outside the root; Docker sends the link itself, not what it points to
      const first = mark()
      await writeFile(join(job.outside!, 'target.js'), 'changed\n')
      await settle(watching)
      const throughLink = eventsSince(watching, first, root)
      const second = mark()
      symlinkSync(job.outside!, join(root, 'src', 'new-link'))
      await settle(watching)
      await writeFile(join(job.outside!, 'target.js'), 'changed again\n')
      await settle(watching)
      Object.assign(result, {throughLink, newLink: eventsSince(watching, second, root)})
      break
    }
    case 'root-deleted': {
      const first = mark()
      await rm(root, {recursive: true, force: true})
      await settle(watching)
      const afterDelete = eventsSince(watching, first, root)
      const errorsAfterDelete = [...watching.errors]
      const second = mark()
      await mkdir(join(root, 'src'), {recursive: true})
      await writeFile(join(root, 'src', 'app.js'), 'back\n')
      await settle(watching)
      Object.assign(result, {
        afterDelete:
          afterDelete.length > 12 ? [...afterDelete.slice(0, 6), `… ${afterDelete.length} in all`] : afterDelete,
        deleteEventsCount: afterDelete.length,
        rootReported: afterDelete.filter((event) => event.endsWith(' .')),
        errorsAfterDelete,
        afterRecreate: eventsSince(watching, second, root),
        watchesAfter: inotifyWatches(),
      })
      break
    }
    case 'burst': {
      // 50,000 files created by another process as fast as it can, more than the inotify queue holds
      // (fs.inotify.max_queued_events, 16384 here) unless the reader keeps up: first into a folder watched
      // for a while (only the queue can lose them), then into a folder made by the same process just before
      // (the watcher has to add a watch for it while files already land in it)
      for (const [phase, folder, makeFolder] of [
        ['existingFolder', 'src', false],
        ['newFolder', 'burst', true],
      ] as const) {
        const first = mark()
        const started = now()
        const target = JSON.stringify(join(root, folder))
        await execFileAsync(process.execPath, [
          '-e',
          `const fs=require('fs');${makeFolder ? `fs.mkdirSync(${target});` : ''}` +
            `for(let i=0;i<50000;i++)fs.writeFileSync(${target}+'/f'+i,'')`,
        ])
        const wroteMs = now() - started
        await settle(watching, 2000, 120_000)
        const reported = new Set(watching.events.slice(first).map((event) => event.path))
        const missed: number[] = []
        for (let i = 0; i < 50000; i++) if (!reported.has(join(root, folder, `f${i}`))) missed.push(i)
        result[phase] = {
          filesReported: 50000 - missed.length,
          firstMissed: missed.slice(0, 3),
          lastMissed: missed.at(-1),
          events: watching.events.length - first,
          wroteMs: Math.round(wroteMs),
          settledMs: Math.round(watching.events.at(-1)!.t - started),
        }
      }
      break
    }
    case 'limit-at-start':
      result.limit = readFileSync('/proc/sys/user/max_inotify_watches', 'utf8').trim()
      await sleep(1500)
      break
    case 'limit-later': {
      result.limit = readFileSync('/proc/sys/user/max_inotify_watches', 'utf8').trim()
      const first = mark()
      await execFileAsync('sh', [
        '-c',
        `cd '${root}' && for i in $(seq 1 60); do mkdir more$i && echo x > more$i/file.js; done`,
      ])
      await settle(watching)
      const second = mark()
      // written well after the folders were made, into every one of them
      await execFileAsync('sh', ['-c', `cd '${root}' && for i in $(seq 1 60); do echo y > more$i/later.js; done`])
      await settle(watching)
      const later = new Set(watching.events.slice(second).map((event) => relative(root, event.path)))
      Object.assign(result, {
        foldersReported: new Set(
          watching.events
            .slice(first, second)
            .map((event) => relative(root, event.path))
            .filter((path) => /^more\d+$/.test(path)),
        ).size,
        laterWritesReported: Array.from({length: 60}, (_, i) => `more${i + 1}/later.js`).filter((path) =>
          later.has(path),
        ).length,
        watchesAfter: inotifyWatches(),
      })
      break
    }
  }
  result.errors = watching.errors.map((error) => error.replaceAll(root, '<root>'))
  await watching.close()
  return result
}

async function snapshotScenario(job: ChildJob) {
  const parcel = loadParcel(job.librariesDir)
  const snapshotFile = join(job.outside!, 'snapshot.txt')
  const ignore = [join(job.root, '.git')]
  let started = now()
  await parcel.writeSnapshot(job.root, snapshotFile, {ignore})
  const writeSnapshotMs = now() - started
  const snapshotBytes = statSync(snapshotFile).size
  const rssAfterSnapshotMb = rssMb()
  await sleep(20)
  await appendFile(join(job.root, 'src', 'watch-bench.js'), '// edited while nobody watched\n')
  await writeFile(join(job.root, 'src', 'added.js'), 'x\n')
  started = now()
  const events = await parcel.getEventsSince(job.root, snapshotFile, {ignore})
  const getEventsSinceMs = now() - started
  await unlink(join(job.root, 'src', 'added.js'))
  return {
    writeSnapshotMs: Math.round(writeSnapshotMs),
    snapshotBytes,
    rssAfterSnapshotMb,
    getEventsSinceMs: Math.round(getEventsSinceMs),
    events: events.map((event) => `${event.type} ${relative(job.root, event.path)}`),
  }
}

if (process.argv[2] === '--child') {
  const job = JSON.parse(process.argv[3]!) as ChildJob
  process.stdout.write(JSON.stringify(await child(job)) + '\n')
  // a watcher that failed half-way can keep the loop alive
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: install the candidates, make the trees, run the children, print the tables.

const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 3 : Number(process.argv[runsFlag + 1])
const jsonFlag = process.argv.indexOf('--json')
const scenariosFlag = process.argv.indexOf('--scenarios')
const wanted = (scenario: Scenario) =>
  scenariosFlag === -1 || process.argv[scenariosFlag + 1]!.split(',').includes(scenario)
const onlyFlag = process.argv.indexOf('--only')
const libraries = (onlyFlag === -1 ? Object.keys(LIBRARIES) : process.argv[onlyFlag + 1]!.split(',')) as Library[]

const scratch = mkdtempSync(join(tmpdir(), 'kudev-bench-watchers-'))
const self = fileURLToPath(import.meta.url)

function runChild(job: ChildJob, watchLimit?: number): ChildResult {
  const args = ['--import', 'tsx', self, '--child', JSON.stringify(job)]
  const [file, argv] =
    watchLimit === undefined
      ? [process.execPath, args]
      : [
          'unshare',
          [
            '--user',
            '--map-root-user',
            'sh',
            '-c',
            `echo ${watchLimit} > /proc/sys/user/max_inotify_watches && exec "$@"`,
            'sh',
            process.execPath,
            ...args,
          ],
        ]
  const child = spawnSync(file, argv, {encoding: 'utf8', maxBuffer: 1 << 26, timeout: 600_000})
  const line = child.stdout.trim().split('\n').at(-1)
  if (child.status !== 0 || !line) {
    return {library: job.library, scenario: job.scenario, crashed: `exit ${child.status}: ${child.stderr.slice(-2000)}`}
  }
  return JSON.parse(line) as ChildResult
}

function gitRepo(dir: string): void {
  const git = (...args: string[]) =>
    run('git', ['-C', dir, '-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args])
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('commit', '-q', '-m', 'main')
  git('checkout', '-q', '-b', 'other')
  const files = run('git', ['-C', dir, 'ls-files'])
    .split('\n')
    .filter((path) => path && path !== 'src/app.js')
    .sort()
  // 300 files changed, the folder `deepmerge` and 50 more files deleted, 100 files added (40 in new folders)
  for (const path of files.filter((_, i) => i % 3 !== 2).slice(0, 300)) appendFileSyncLine(join(dir, path))
  rmSync(join(dir, 'deepmerge'), {recursive: true})
  for (const path of files.filter((path, i) => i % 3 === 2 && !path.startsWith('deepmerge/')).slice(0, 50))
    rmSync(join(dir, path))
  mkdirSync(join(dir, 'added', 'nested'), {recursive: true})
  for (let i = 0; i < 60; i++) writeFileSync(join(dir, 'src', `added${i}.js`), `export const n = ${i}\n`)
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'added', `a${i}.js`), `export const a = ${i}\n`)
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'added', 'nested', `b${i}.js`), `export const b = ${i}\n`)
  git('add', '-A')
  git('commit', '-q', '-m', 'other')
  git('checkout', '-q', 'main')
}

function appendFileSyncLine(path: string): void {
  writeFileSync(path, readFileSync(path, 'utf8') + '\n// changed on branch other\n')
}

function versions(): Record<Library, string> {
  const version = (module: string) =>
    (JSON.parse(readFileSync(join(librariesDir, 'node_modules', module, 'package.json'), 'utf8')) as {version: string})
      .version
  return {
    parcel: version('@parcel/watcher'),
    chokidar4: version('chokidar'),
    chokidar5: version('chokidar5'),
  }
}

let librariesDir = process.env.KUDEV_WATCHERS_DIR || join(scratch, 'libraries')
try {
  if (!existsSync(join(librariesDir, 'node_modules', '@parcel', 'watcher'))) {
    mkdirSync(librariesDir, {recursive: true})
    writeFileSync(join(librariesDir, 'package.json'), '{"name": "watcher-candidates", "private": true}\n')
    process.stderr.write(`installing the candidates in ${librariesDir}…\n`)
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', ...Object.values(LIBRARIES).map((l) => l.spec)], {
      cwd: librariesDir,
    })
  }
  librariesDir = librariesDir.replace(/\/$/, '')
  const corpus = webappCorpus()
  writeFileSync(join(corpus, 'src', 'watch-bench.js'), "console.log('watch bench')\n")
  const template = join(scratch, 'template')
  cpSync(join(corpus, 'node_modules', '@mui', 'utils'), template, {recursive: true})
  mkdirSync(join(template, 'src'))
  writeFileSync(join(template, 'src', 'app.js'), "console.log('app')\n")
  gitRepo(template)
  const outside = join(scratch, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'target.js'), 'x\n')
  const templateFiles = run('git', ['-C', template, 'ls-files']).split('\n').filter(Boolean).length
  const templateFolders = Number(
    run('sh', ['-c', `find '${template}' -path '*/.git' -prune -o -type d -print | wc -l`]),
  )

  const results: ChildResult[] = []
  const log = (result: ChildResult) => {
    process.stderr.write(`${result.library} ${result.scenario}: ${JSON.stringify(result).slice(0, 400)}\n`)
    results.push(result)
  }

  for (let round = 0; round < runs; round++)
    for (const scenario of (['corpus', 'corpus-ignore'] as const).filter(wanted))
      for (const library of libraries) log(runChild({library, scenario, root: corpus, librariesDir}))

  const smallScenarios = [
    'atomic-rename',
    'atomic-backup',
    'git-checkout',
    'folder-recreate',
    'nested-folder',
    'symlink',
    'root-deleted',
    'burst',
    'limit-at-start',
    'limit-later',
  ] as const
  for (const scenario of smallScenarios.filter(wanted))
    for (const library of libraries) {
      const root = join(scratch, `tree-${library}-${scenario}`)
      cpSync(template, root, {recursive: true, verbatimSymlinks: true})
      symlinkSync(outside, join(root, 'linked'))
      // limits count the root and every folder but .git (left out of the watch) and `linked`
      const watchLimits: Partial<Record<Scenario, number>> = {
        'limit-at-start': templateFolders - 20,
        'limit-later': templateFolders + 20,
      }
      const watchLimit = watchLimits[scenario]
      log(runChild({library, scenario, root, librariesDir, outside}, watchLimit))
      rmSync(root, {recursive: true, force: true})
    }
  if (libraries.includes('parcel') && wanted('snapshot'))
    for (let round = 0; round < runs; round++)
      log(runChild({library: 'parcel', scenario: 'snapshot', root: corpus, librariesDir, outside}))

  rmSync(join(corpus, 'src', 'watch-bench.js'), {force: true})
  printTables(results, {templateFiles, templateFolders, corpus})
} finally {
  rmSync(scratch, {recursive: true, force: true})
}

function printTables(
  results: ChildResult[],
  facts: {templateFiles: number; templateFolders: number; corpus: string},
): void {
  const of = (scenario: Scenario, library: Library) =>
    results.filter((result) => result.scenario === scenario && result.library === library)
  const med = (rows: ChildResult[], key: string) => {
    const values = rows.map((row) => row[key]).filter((value): value is number => typeof value === 'number')
    return values.length > 0 ? String(Math.round(median(values))) : 'n/a'
  }
  const installed = versions()
  const name = (library: Library) => `${LIBRARIES[library].module.replace(/5$/, '')} ${installed[library]}`
  const out: string[] = []
  out.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, Linux ${release()}, ext4; corpus ${facts.corpus} ` +
      `(${run('sh', ['-c', `find '${facts.corpus}' -type f | wc -l`]).trim()} files, ` +
      `${run('sh', ['-c', `find '${facts.corpus}' -type d | wc -l`]).trim()} folders); ${runs} runs per corpus row, ` +
      `a fresh process each; small tree: @mui/utils (${facts.templateFiles} files, ${facts.templateFolders} folders) ` +
      'as a git repository',
    '',
  )

  out.push(
    '| library | watched | ready ms | RSS MB (before load → after ready) | peak RSS MB | inotify watches | write → event ms (median of 20) | edits missed | write under node_modules reported |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  )
  for (const scenario of ['corpus', 'corpus-ignore'] as const)
    for (const library of libraries) {
      const rows = of(scenario, library)
      out.push(
        `| ${name(library)} | ${scenario === 'corpus' ? 'everything' : 'node_modules, .git left out'} | ${med(rows, 'readyMs')} | ` +
          `${med(rows, 'rssBeforeMb')} → ${med(rows, 'rssMb')} | ${med(rows, 'maxRssMb')} | ${med(rows, 'watches')} | ` +
          `${med(rows, 'latencyMedianMs')} | ${rows.map((row) => row.missed).join(', ')} | ` +
          `${rows.map((row) => (row.probeReported ? 'yes' : 'no')).join(', ')} |`,
      )
    }
  out.push('')

  const one = (scenario: Scenario, library: Library) => of(scenario, library)[0] ?? ({} as ChildResult)
  const cell = (value: unknown) => (value === undefined ? 'n/a' : JSON.stringify(value).replaceAll('|', '\\|'))
  out.push('| library | atomic save: temp file renamed over the original | atomic save: original renamed to a backup |')
  out.push('| --- | --- | --- |')
  for (const library of libraries)
    out.push(
      `| ${name(library)} | ${cell(one('atomic-rename', library).events)} | ${cell(one('atomic-backup', library).events)} |`,
    )
  out.push('')

  out.push(
    '| library | checkout | paths in `git diff --name-only` | events | distinct paths | files not reported themselves | not reported even by a folder | other paths reported | last event after (ms) |',
  )
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const library of libraries)
    for (const direction of ['main→other', 'other→main']) {
      const row = one('git-checkout', library)[direction] as Record<string, unknown> | undefined
      if (!row) {
        out.push(`| ${name(library)} | ${direction} | crashed | | | | | | |`)
        continue
      }
      out.push(
        `| ${name(library)} | ${direction} | ${row.expected} | ${row.events} | ${row.distinctPaths} | ${row.missedExact} ${cell(row.missedExactSample)} | ` +
          `${(row.missedEvenByFolder as string[]).length} | ${row.extra} | ${row.lastEventMs} |`,
      )
    }
  out.push('')

  out.push(
    '| library | folder deleted and made again, 3 rounds: new files reported / 50 | old files reported deleted |',
  )
  out.push('| --- | --- | --- |')
  for (const library of libraries) {
    const rounds = (one('folder-recreate', library).rounds ?? []) as Record<string, number>[]
    out.push(
      `| ${name(library)} | ${rounds.map((r) => r.newFilesReported).join(', ')} | ` +
        `${rounds.map((r) => `${r.oldFilesReportedDeleted}/${r.oldFiles}`).join(', ')} |`,
    )
  }
  out.push('')

  out.push(
    '| library | `mkdir -p new/inner && write new/inner/f.js`, 10 rounds: `new/inner` reported | a later write into `new/inner` reported |',
  )
  out.push('| --- | ---: | ---: |')
  for (const library of libraries) {
    const row = one('nested-folder', library)
    out.push(`| ${name(library)} | ${cell(row.nestedCreateReported)}/10 | ${cell(row.laterWritesReported)}/10 |`)
  }
  out.push('')

  out.push(
    '| library | 50,000 new files into | reported | first missed (file numbers) | events | writing took ms | last event at ms |',
  )
  out.push('| --- | --- | ---: | --- | ---: | ---: | ---: |')
  for (const library of libraries)
    for (const phase of ['existingFolder', 'newFolder']) {
      const row = one('burst', library)[phase] as Record<string, unknown> | undefined
      out.push(
        `| ${name(library)} | ${phase === 'newFolder' ? 'a folder made just before' : 'a watched folder'} | ` +
          `${row?.filesReported} | ${cell(row?.firstMissed)}${row?.lastMissed === undefined ? '' : ` … ${cell(row.lastMissed)}`} | ` +
          `${row?.events} | ${row?.wroteMs} | ${row?.settledMs} |`,
      )
    }
  out.push('')

  out.push(
    "| library | watch limit below the tree's folders: what the caller gets | limit reached later (60 new folders, 20 watches left) |",
  )
  out.push('| --- | --- | --- |')
  for (const library of libraries) {
    const start = one('limit-at-start', library)
    const later = one('limit-later', library)
    out.push(
      `| ${name(library)} | limit ${start.limit}: ready ${start.readyMs} ms, watches ${start.watches}, ${cell(
        (start.errors as string[] | undefined)?.slice(0, 1),
      )} (${(start.errors as string[] | undefined)?.length ?? 0} errors) | limit ${later.limit}: ${later.foldersReported}/60 folders reported, ` +
        `later writes reported ${later.laterWritesReported}/60, errors: ${cell(
          (later.errors as string[] | undefined)?.slice(0, 1),
        )} (${(later.errors as string[] | undefined)?.length ?? 0}) |`,
    )
  }
  out.push('')

  out.push(
    '| library | write through a symlinked folder (`linked` → outside the root) | new symlink made, then its target written |',
  )
  out.push('| --- | --- | --- |')
  for (const library of libraries) {
    const row = one('symlink', library)
    out.push(`| ${name(library)} | ${cell(row.throughLink)} | ${cell(row.newLink)} |`)
  }
  out.push('')

  out.push('| library | root deleted: events | errors | root made again + file written: events | watches left |')
  out.push('| --- | --- | --- | --- | ---: |')
  for (const library of libraries) {
    const row = one('root-deleted', library)
    out.push(
      `| ${name(library)} | ${row.deleteEventsCount} events, root: ${cell(row.rootReported)} | ${cell(row.errorsAfterDelete)} | ` +
        `${cell(row.afterRecreate)} | ${row.watchesAfter} |`,
    )
  }
  out.push('')

  const snapshots = of('snapshot', 'parcel')
  if (snapshots.length > 0) {
    out.push('| @parcel/watcher on the corpus | median ms | |')
    out.push('| --- | ---: | --- |')
    out.push(`| writeSnapshot | ${med(snapshots, 'writeSnapshotMs')} | ${snapshots[0]!.snapshotBytes} bytes |`)
    out.push(
      `| getEventsSince after 1 edit + 1 new file | ${med(snapshots, 'getEventsSinceMs')} | ${cell(snapshots[0]!.events)} |`,
    )
    out.push('')
  }
  console.log(out.join('\n'))
  if (jsonFlag !== -1) writeFileSync(process.argv[jsonFlag + 1]!, JSON.stringify(results, null, 1))
}
