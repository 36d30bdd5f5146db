import {expect} from 'chai'
import {execa, type ResultPromise} from 'execa'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {DEFAULT_QUIET_MS} from '../../src/watch/defaults.js'
import {isolatedEnv, repoRoot, runCli} from '../support/cli.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {ensureBusyboxBase} from '../support/images.js'
import {createKindCluster, nodeImageIds, type TestCluster} from '../support/nodes.js'
import {waitFor} from '../support/processes.js'
import {kindContext, upProject} from '../support/project.js'
import {requireRegistry, startRegistry} from '../support/registry.js'

interface Cycle {
  image?: string
  digest?: string
  built?: boolean
  loaded?: boolean
  changed?: {paths: string[]; count: number}
  durationsMs?: {hash: number}
  error?: {code: string; message: string}
}

/** A running `kudev <command> --watch --json`: its cycles as they are printed, one JSON object per line. */
class Watching {
  readonly cycles: Cycle[] = []
  stderr = ''
  private readonly child: ResultPromise
  private buffered = ''

  constructor(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    this.child = execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args, '--watch', '--json'], {
      cwd,
      env: isolatedEnv(env),
      reject: false,
    })
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString()
      const lines = this.buffered.split('\n')
      this.buffered = lines.pop()!
      for (const line of lines) this.cycles.push(JSON.parse(line) as Cycle)
    })
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString()
    })
  }

  /** Waits until `count` cycles were printed in all. */
  async cycle(count: number, timeoutMs = 60_000): Promise<Cycle> {
    await waitFor(() => this.cycles.length >= count, timeoutMs).catch(() => {
      throw new Error(`no cycle ${count} within ${timeoutMs} ms; stderr: ${this.stderr}`)
    })
    return this.cycles[count - 1]!
  }

  /** Stops it with SIGINT (Ctrl-C) or SIGTERM; resolves with the exit code. */
  async stop(signal: 'SIGINT' | 'SIGTERM' = 'SIGINT'): Promise<number> {
    this.child.kill(signal)
    const result = await this.child
    return result.exitCode ?? -1
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('kudev build --watch (real engine, real files)', function () {
  this.timeout(180_000)
  const cleanup = suiteCleanup()
  let project: string
  let imageName: string
  let watching: Watching | undefined

  before(async function () {
    await requireDocker(this)
    await ensureBusyboxBase()
  })

  beforeEach(async () => {
    project = await cleanup.tempDir('kudev-watch-')
    imageName = `kudev-test/${uniqueName('watch')}`
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
    await writeFile(join(project, '.dockerignore'), 'logs\n')
    await mkdir(join(project, 'src'))
    await writeFile(join(project, 'src', 'app.js'), 'v1\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}}\n`,
    )
  })

  afterEach(async () => {
    if (watching) expect(await watching.stop()).to.equal(130)
    watching = undefined
    const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', imageName])
    for (const ref of stdout.split('\n').filter(Boolean)) cleanup.image(ref)
  })

  const buildRunning = async () =>
    (await execa('pgrep', ['-f', `docker build.*${imageName}`], {reject: false})).stdout.trim() !== ''

  /** The digest a fresh one-shot `kudev hash` gives now. */
  async function freshDigest(): Promise<string> {
    const result = await runCli(['hash', '--json', '--no-cache'], {cwd: project})
    return (JSON.parse(result.stdout) as {digest: string}).digest
  }

  it('a save starts exactly one cycle, whose digest is the one-shot hash; an ignored file starts none', async () => {
    watching = new Watching(['build'], project)
    const first = await watching.cycle(1)
    expect(first).to.include({built: true})
    expect(first.digest).to.equal(await freshDigest())
    await writeFile(join(project, 'src', 'app.js'), 'v2\n')
    const second = await watching.cycle(2)
    expect(second).to.include({built: true})
    expect(second.changed).to.deep.equal({count: 1, paths: ['src/app.js']})
    expect(second.digest).to.equal(await freshDigest())
    expect(second.durationsMs!.hash).to.be.a('number')
    await mkdir(join(project, 'logs'))
    await writeFile(join(project, 'logs', 'debug.log'), 'noise\n')
    await sleep(1500)
    expect(watching.cycles).to.have.length(2)
  })

  it('ten saves within 50 ms start one or two cycles, and the last digest is the one-shot hash', async () => {
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    // A busy machine can stall the burst past the quiet period: each such gap may start one more cycle.
    let splits = 0
    let last = performance.now()
    for (let i = 0; i < 10; i++) {
      await writeFile(join(project, 'src', 'app.js'), `burst ${i}\n`)
      if (performance.now() - last >= DEFAULT_QUIET_MS) splits++
      last = performance.now()
      await sleep(5)
    }

    await watching.cycle(2)
    await sleep(1500)
    expect(watching.cycles.length).to.be.within(2, 3 + splits)
    expect(watching.cycles.at(-1)!.digest).to.equal(await freshDigest())
  })

  it("an editor's atomic save (write a temp file, rename it over) is one change of that file", async () => {
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    await writeFile(join(project, 'src', '.app.js.swp'), 'v2 atomic\n')
    await rename(join(project, 'src', '.app.js.swp'), join(project, 'src', 'app.js'))
    const second = await watching.cycle(2)
    expect(second.changed!.paths).to.include('src/app.js')
    expect(second.digest).to.equal(await freshDigest())
  })

  it('sees later writes in a folder created while watching (the watch is renewed before the next hash)', async () => {
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    await mkdir(join(project, 'src', 'new', 'deep'), {recursive: true})
    await writeFile(join(project, 'src', 'new', 'deep', 'a.js'), 'a\n')
    const created = await watching.cycle(2)
    expect(created.digest).to.equal(await freshDigest())
    for (let i = 0; i < 5; i++) {
      await writeFile(join(project, 'src', 'new', 'deep', 'a.js'), `a ${i}\n`)
      const later = await watching.cycle(3 + i)
      expect(later.changed!.paths).to.include('src/new/deep/a.js')
      expect(later.digest).to.equal(await freshDigest())
    }
  })

  it('a change to .dockerignore hashes under the new rules', async () => {
    await writeFile(join(project, 'notes.md'), 'notes\n')
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    await writeFile(join(project, '.dockerignore'), 'logs\n*.md\n')
    const second = await watching.cycle(2)
    expect(second.changed!.paths).to.include('.dockerignore')
    expect(second.digest).to.equal(await freshDigest())
    // notes.md is ignored now: a save of it starts nothing.
    await writeFile(join(project, 'notes.md'), 'more notes\n')
    await sleep(1500)
    expect(watching.cycles).to.have.length(2)
  })

  it('a git checkout of another branch (hundreds of files) ends with the one-shot hash', async () => {
    const git = (...args: string[]) =>
      execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {cwd: project})
    for (let i = 0; i < 300; i++) {
      await mkdir(join(project, 'src', `m${i % 10}`), {recursive: true})
      await writeFile(join(project, 'src', `m${i % 10}`, `f${i}.js`), `main ${i}\n`)
    }

    await git('init', '-q', '-b', 'main')
    await git('add', '-A')
    await git('commit', '-qm', 'main')
    await git('checkout', '-qb', 'other')
    for (let i = 0; i < 300; i += 2) await writeFile(join(project, 'src', `m${i % 10}`, `f${i}.js`), `other ${i}\n`)
    await mkdir(join(project, 'src', 'added'))
    for (let i = 0; i < 50; i++) await writeFile(join(project, 'src', 'added', `n${i}.js`), `new ${i}\n`)
    await git('add', '-A')
    await git('commit', '-qm', 'other')
    await git('checkout', '-q', 'main')
    await writeFile(join(project, '.dockerignore'), 'logs\n.git\n')

    watching = new Watching(['build'], project)
    await watching.cycle(1)
    await git('checkout', '-q', 'other')
    await watching.cycle(2)
    await sleep(1500)
    expect(watching.cycles.at(-1)!.digest).to.equal(await freshDigest())
    await git('checkout', '-q', 'main')
    const back = watching.cycles.length + 1
    await watching.cycle(back)
    await sleep(1500)
    expect(watching.cycles.at(-1)!.digest).to.equal(await freshDigest())
    expect(watching.cycles.at(-1)!.digest).to.equal(watching.cycles[0]!.digest)
  })

  it('a build error is reported and watching goes on; the fix builds', async () => {
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY missing.txt /app/\n')
    const broken = await watching.cycle(2)
    expect(broken.error).to.include({code: 'build'})
    expect(broken.changed!.paths).to.include('Dockerfile')
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY src /app/\n')
    const fixed = await watching.cycle(3)
    expect(fixed).to.include({built: true})
    expect(fixed.digest).to.equal(await freshDigest())
  })

  it('a change while building cancels that build (no tag for it) and builds again', async () => {
    await writeFile(join(project, 'Dockerfile'), 'FROM kudev-test/busybox:1\nCOPY . /app/\nRUN sleep 3\n')
    watching = new Watching(['build', '--network', 'none'], project)
    await waitFor(buildRunning, 60_000)
    await writeFile(join(project, 'src', 'app.js'), 'changed while building\n')
    const first = await watching.cycle(1)
    expect(first).to.include({built: true})
    expect(first.digest).to.equal(await freshDigest())
    const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Tag}}', imageName])
    expect(stdout.trim().split('\n')).to.deep.equal([first.image!.split(':')[1]])
  })

  it('with BuildKit, the check before the tag comes from the watcher, not a second hash; the next cycle follows the folder', async () => {
    const buildkit = {DOCKER_BUILDKIT: '1', PATH: `/usr/bin:${process.env.PATH}`}
    watching = new Watching(['build', '--network', 'none', '-v'], project, buildkit)
    await watching.cycle(1)
    for (const [count, text] of [
      [2, 'v2\n'],
      [3, 'v3\n'],
    ] as const) {
      await writeFile(join(project, 'src', 'app.js'), text)
      const cycle = await watching.cycle(count)
      expect(cycle).to.include({built: true})
      expect(cycle.digest).to.equal(await freshDigest())
    }

    const checks = watching.stderr.match(/the file watcher reported no change during the build/g) ?? []
    expect(checks, watching.stderr).to.have.length(3)
    expect(watching.stderr).to.not.match(/tree snapshot: .* moved; listing and reading only those/)
    expect(watching.stderr).to.match(/1 paths linked, 0 removed \(the folders listed again since its snapshot\)/)
  })

  it('--poll checks every path on a timer: a save makes one cycle, nothing changed or a failing build says nothing more', async () => {
    watching = new Watching(['build', '--poll', '300'], project)
    await watching.cycle(1)
    await sleep(1500)
    expect(watching.cycles, 'no cycle while nothing changes').to.have.length(1)
    await writeFile(join(project, 'logs'), 'ignored\n')
    await writeFile(join(project, 'src', 'app.js'), 'v2\n')
    const second = await watching.cycle(2)
    expect(second).to.include({built: true})
    expect(second.digest).to.equal(await freshDigest())
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY missing.txt /\n')
    expect((await watching.cycle(3)).error).to.not.equal(undefined)
    await sleep(1500)
    expect(watching.cycles, 'the failure is said once').to.have.length(3)
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
    expect((await watching.cycle(4)).digest).to.equal(await freshDigest())
    expect(watching.stderr).to.match(/every 0.3 s \(--poll\)/)
  })

  it("the system's inotify limit reached at start: the sysctl to raise is said, and every path is checked on a timer", async function () {
    // The real limit, lowered for the moment the watch subscribes (root, as CI runs): every new watch then fails.
    const limitFile = '/proc/sys/fs/inotify/max_user_watches'
    let limit: string
    try {
      limit = await readFile(limitFile, 'utf8')
      await writeFile(limitFile, '1\n')
    } catch {
      this.skip()
    }

    try {
      watching = new Watching(['build'], project)
      await waitFor(() => /checking every path every 2 s instead/.test(watching!.stderr), 30_000)
    } finally {
      await writeFile(limitFile, limit!)
    }

    expect(watching.stderr).to.include('sudo sysctl fs.inotify.max_user_watches=524288')
    await watching.cycle(1)
    await writeFile(join(project, 'src', 'app.js'), 'v2\n')
    expect((await watching.cycle(2)).digest).to.equal(await freshDigest())
  })

  it('a context folder removed and made again: said once, then every path is checked on a timer', async () => {
    const app = join(project, 'app')
    await mkdir(app)
    await rename(join(project, 'src'), join(app, 'src'))
    await rename(join(project, 'Dockerfile'), join(app, 'Dockerfile'))
    await writeFile(
      join(project, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}, buildContext: app, dockerfilePath: app/Dockerfile}\n`,
    )
    watching = new Watching(['build'], project)
    await watching.cycle(1)
    const before = watching.cycles.length
    await rm(app, {recursive: true})
    await waitFor(() => /was removed\); checking every path every 2 s/.test(watching!.stderr), 10_000)
    await mkdir(join(app, 'src'), {recursive: true})
    await writeFile(join(app, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
    await writeFile(join(app, 'src', 'app.js'), 'made again\n')
    await waitFor(() => watching!.cycles.slice(before).some((cycle) => cycle.built), 30_000)
    const last = watching.cycles.at(-1)!
    expect(last.digest).to.equal(await freshDigest())
    expect(watching.stderr.match(/was removed/g)).to.have.length(1)
  })

  for (const stopSignal of ['SIGINT', 'SIGTERM'] as const)
    it(`${stopSignal} during a build exits 130 and leaves no tag and no docker process`, async () => {
      await writeFile(join(project, 'Dockerfile'), 'FROM kudev-test/busybox:1\nCOPY . /app/\nRUN sleep 30\n')
      const running = new Watching(['build', '--network', 'none'], project)
      watching = running
      await waitFor(buildRunning, 60_000)
      await sleep(500)
      const exitCode = await running.stop(stopSignal)
      watching = undefined
      expect(exitCode).to.equal(130)
      expect(running.cycles.at(-1)?.error?.message).to.equal(`interrupted by ${stopSignal}; stopped what was running`)
      const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', imageName])
      expect(stdout.trim()).to.equal('')
      const left = await execa('pgrep', ['-af', `docker build.*${imageName}`], {reject: false})
      expect(left.stdout).to.equal('')
    })

  it('Ctrl-C while waiting for changes is how one leaves: "stopped watching" on stderr, no error, exit 130', async () => {
    const child = execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'build', '--watch'], {
      cwd: project,
      env: isolatedEnv(),
      reject: false,
    })
    let printed = ''
    child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    await waitFor(() => printed.includes(imageName), 60_000).catch((error: Error) => {
      child.kill('SIGKILL')
      throw error
    })
    child.kill('SIGINT')
    const {exitCode, stderr} = await child
    expect(exitCode).to.equal(130)
    expect(stderr.split('\n').at(-1)).to.equal('stopped watching')
    expect(stderr).not.to.include('Error:')
  })

  it('with --json, leaving while waiting ends with one line that says so', async () => {
    const idle = new Watching(['build'], project)
    watching = idle
    await idle.cycle(1)
    watching = undefined
    expect(await idle.stop()).to.equal(130)
    expect(idle.cycles.at(-1)).to.deep.equal({error: {code: 'interrupted', exitCode: 130, message: 'stopped watching'}})
  })
})

describe('kudev up --watch into kind-style nodes (real engine, real containerd)', function () {
  this.timeout(180_000)
  const cleanup = suiteCleanup()
  let kind: TestCluster
  let project: string
  let env: NodeJS.ProcessEnv
  let watching: Watching | undefined

  before(async function () {
    await requireDocker(this)
    const name = `w${process.pid % 10_000}`
    kind = await createKindCluster(name)
    ;({env, project} = await upProject(cleanup, 'watchup', [kindContext(name)], kindContext(name).name))
  })

  after(async () => {
    if (watching) await watching.stop()
    await kind?.remove()
  })

  it('loads every cycle into the nodes, reports up --json fields plus changed and durationsMs.hash', async () => {
    watching = new Watching(['up'], project, env)
    const first = await watching.cycle(1)
    expect(first).to.include({built: true, loaded: true})
    await writeFile(join(project, 'index.html'), 'v2\n')
    const second = (await watching.cycle(2)) as Cycle & {id: string; loader: string; context: string}
    expect(second).to.include({built: true, loaded: true, loader: 'kind'})
    expect(second.changed).to.deep.equal({count: 1, paths: ['index.html']})
    expect(second.durationsMs).to.have.keys('build', 'hash', 'load', 'total')
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(second.id)
    expect(await watching.stop()).to.equal(130)
    // Stopped while waiting for changes: it says so, and no error.
    expect(watching.cycles.at(-1)).to.deep.equal({
      error: {code: 'interrupted', exitCode: 130, message: 'stopped watching'},
    })
    watching = undefined
  })

  it('pushes every cycle to a registry with --registry', async function () {
    await requireRegistry(this)
    const registry = await startRegistry(cleanup)
    watching = new Watching(['up', '--registry', registry.host], project, env)
    const first = (await watching.cycle(1)) as Cycle & {clusterRef: string}
    expect(first).to.include({loaded: true, loader: 'registry'})
    cleanup.image(first.clusterRef)
    await writeFile(join(project, 'index.html'), 'v3 through the registry\n')
    const second = (await watching.cycle(2)) as Cycle & {clusterRef: string}
    expect(second).to.include({built: true, loaded: true, loader: 'registry'})
    cleanup.image(second.clusterRef)
    expect(second.clusterRef).to.equal(`${registry.host}/${second.image}`)
    expect(await registry.log()).to.include(`/manifests/${second.image!.split(':')[1]}`)
    expect(await watching.stop()).to.equal(130)
    watching = undefined
  })
})
