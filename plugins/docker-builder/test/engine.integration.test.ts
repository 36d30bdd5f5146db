/**
 * The engine check against the real docker CLIs: every way the engine can be unusable, produced for real
 * (a dead socket, a daemon that never answers, a user outside the docker group, no CLI on PATH, …).
 */
import {expect} from 'chai'
import {execa} from 'execa'
import type {BuildOptions} from 'kudev'
import {realToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import {chmod, mkdir, stat, symlink, writeFile} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import {contextFromFolder} from '../../../test/support/build-context.js'
import {isCI, requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {DockerBuilder, type DockerBuilderOptions} from '../src/builder.js'

const CLIS = [
  {cli: process.env.KUDEV_TEST_DOCKER_CLASSIC || '/usr/local/bin/docker', name: 'CLI 28'},
  {cli: process.env.KUDEV_TEST_DOCKER_BUILDKIT || '/usr/bin/docker', name: 'CLI 20.10'},
]

const toolkit = realToolkit()
const CLEAN_ENV = {DOCKER_BUILDKIT: undefined, DOCKER_CONTEXT: undefined, DOCKER_HOST: undefined}

describe('docker engine check (integration, real CLIs)', function () {
  this.timeout(60_000)
  const cleanup = suiteCleanup()
  let work: string

  before(async () => {
    work = await cleanup.tempDir('kudev-engine-')
  })

  /** A folder whose `docker` is `target` (a link) or a script with `script` as its body. */
  async function bin(name: string, content: {target?: string; script?: string}): Promise<string> {
    const dir = path.join(work, name)
    await mkdir(dir)
    if (content.target) await symlink(content.target, path.join(dir, 'docker'))
    else {
      await writeFile(path.join(dir, 'docker'), `#!/bin/sh\n${content.script}\n`)
      await chmod(path.join(dir, 'docker'), 0o755)
    }

    return dir
  }

  function builderWith(dir: string, env: NodeJS.ProcessEnv = {}, options: DockerBuilderOptions = {}): DockerBuilder {
    return new DockerBuilder(toolkit, {...options, env: {...CLEAN_ENV, ...env, PATH: `${dir}:${process.env.PATH}`}})
  }

  async function someBuild(builder: DockerBuilder): Promise<unknown> {
    const dir = await cleanup.tempDir('kudev-engine-project-')
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nLABEL x=y\n')
    const context = await contextFromFolder(dir)
    const options: BuildOptions = {
      buildArgs: {},
      dockerfile: path.join(dir, 'Dockerfile'),
      imageName: 'kudev-it-never-built',
      labels: {},
      source: dir,
      tag: 'kudev-00000000',
    }
    return builder.build(context, options, new AbortController().signal)
  }

  for (const {cli, name} of CLIS) {
    describe(name, () => {
      let dir: string
      before(async function () {
        if (!existsSync(cli)) {
          if (isCI()) throw new Error(`${cli} is required in CI`)
          this.skip()
        }

        dir = await bin(`bin-${name.replaceAll(/\W/g, '')}`, {target: cli})
      })

      it('DOCKER_HOST at a dead socket: "daemon not reachable", naming DOCKER_HOST', async () => {
        const error = await rejection(someBuild(builderWith(dir, {DOCKER_HOST: 'unix:///nonexistent.sock'})))
        expect(error.code).to.equal('engine')
        expect(error.exitCode).to.equal(5)
        expect(error.message).to.equal(
          'Docker daemon not reachable at unix:///nonexistent.sock (DOCKER_HOST=unix:///nonexistent.sock)',
        )
        expect(error.hint).to.equal(
          'start Docker Desktop, or on Linux the daemon: sudo systemctl start docker (or run dockerd); DOCKER_HOST is set to unix:///nonexistent.sock: check that a daemon listens there, or unset it to use the default',
        )
      })

      it('DOCKER_CONTEXT naming no context: says so', async () => {
        const error = await rejection(builderWith(dir, {DOCKER_CONTEXT: 'kudev-no-such-context'}).inspect('x:y'))
        expect(error.code).to.equal('engine')
        expect(error.message).to.equal(
          'Docker context "kudev-no-such-context" does not exist (DOCKER_CONTEXT=kudev-no-such-context)',
        )
      })

      it('a daemon that accepts but never answers: gives up after the timeout', async () => {
        const sockets: net.Socket[] = []
        const server = net.createServer((socket) => sockets.push(socket))
        await new Promise<void>((resolve) => {
          server.listen(0, '127.0.0.1', resolve)
        })
        const {port} = server.address() as net.AddressInfo
        try {
          const started = Date.now()
          const error = await rejection(
            builderWith(dir, {DOCKER_HOST: `tcp://127.0.0.1:${port}`}, {engineTimeoutMs: 1000}).inspect('x:y'),
          )
          expect(error.code).to.equal('engine')
          expect(error.message).to.equal(
            `the Docker daemon did not answer within 1 s (DOCKER_HOST=tcp://127.0.0.1:${port})`,
          )
          expect(Date.now() - started).to.be.lessThan(8000)
        } finally {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      })
    })
  }

  it('no docker on PATH: "not installed", with how to install it', async () => {
    const empty = path.join(work, 'empty-bin')
    await mkdir(empty)
    const builder = new DockerBuilder(toolkit, {env: {...CLEAN_ENV, PATH: empty}})
    const error = await rejection(builder.inspect('x:y'))
    expect(error.code).to.equal('engine')
    expect(error.message).to.equal('docker is not installed (not found on PATH)')
    expect(error.hint).to.include('Docker Desktop').and.include('apt-get install docker.io')
  })

  describe('with a reachable engine', () => {
    before(async function () {
      await requireDocker(this)
    })

    it('a user outside the docker group: "permission denied on the Docker socket"', async function () {
      const socket = '/var/run/docker.sock'
      const cli = CLIS[0]!.cli
      const setpriv = await execa('setpriv', ['--version'], {reject: false})
      if (
        process.getuid?.() !== 0 ||
        setpriv.failed ||
        !existsSync(socket) ||
        ((await stat(socket)).mode & 0o006) !== 0 ||
        !existsSync(cli)
      )
        this.skip()
      // The real CLI, run as nobody: the socket (root:docker 660) refuses it.
      const dir = await bin('bin-nobody', {
        script: `exec setpriv --reuid=nobody --regid=nogroup --clear-groups ${cli} "$@"`,
      })
      const error = await rejection(builderWith(dir).inspect('x:y'))
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal('permission denied on the Docker socket unix:///var/run/docker.sock')
      expect(error.hint).to.include('docker group').and.include('sudo')
    })

    it('DOCKER_BUILDKIT=1 with CLI 28 and no buildx: explains the missing buildx before building', async function () {
      const cli = CLIS[0]!.cli
      if (!existsSync(cli)) this.skip()
      const buildx = await execa(cli, ['buildx', 'version'], {reject: false})
      if (!buildx.failed) this.skip() // this machine has buildx: nothing to explain
      const error = await rejection(
        someBuild(builderWith(await bin('bin-buildkit-28', {target: cli}), {DOCKER_BUILDKIT: '1'})),
      )
      expect(error.code).to.equal('engine')
      expect(error.message).to.match(
        /^BuildKit is enabled \(DOCKER_BUILDKIT=1\) but the buildx component is missing or broken: docker 2\d\.\d+\.\d+ builds with BuildKit only through buildx$/,
      )
      expect(error.hint).to.equal(
        'unset DOCKER_BUILDKIT (or set it to 0) to build with the classic builder, or install buildx: https://docs.docker.com/go/buildx/',
      )
    })

    describe('diagnose (the rows kudev doctor shows)', () => {
      const versions = async (cli: string) =>
        (await execa(cli, ['version', '--format', '{{.Client.Version}} {{.Server.Version}}'])).stdout.split(' ')

      it('CLI 20.10: versions, and the builder DOCKER_BUILDKIT picks, with what BuildKit 20.10 does differently', async function () {
        const cli = CLIS[1]!.cli
        if (!existsSync(cli)) this.skip()
        const dir = await bin('bin-diagnose-2010', {target: cli})
        const [client, server] = await versions(cli)
        const classic = await builderWith(dir).diagnose()
        expect(classic[0]).to.deep.equal({name: 'docker', ok: true, summary: `CLI ${client}, engine ${server}`})
        expect(classic[1]).to.include({
          name: 'docker build',
          ok: true,
          summary: `the classic builder (CLI ${client} without DOCKER_BUILDKIT=1)`,
        })
        expect(classic[1]!.hint).to.include('sent only what changed').and.include('set DOCKER_BUILDKIT=1')
        const buildkit = await builderWith(dir, {DOCKER_BUILDKIT: '1'}).diagnose()
        expect(buildkit[1]).to.deep.equal({
          name: 'docker build',
          ok: true,
          summary: 'BuildKit (DOCKER_BUILDKIT=1): a rebuild sends only what changed',
        })
        expect((await builderWith(dir, {DOCKER_BUILDKIT: '0'}).diagnose())[1]).to.include({
          summary: 'the classic builder (DOCKER_BUILDKIT=0)',
        })
      })

      it('CLI 28 without buildx: the classic builder, and DOCKER_BUILDKIT=1 fails the row with what to do', async function () {
        const cli = CLIS[0]!.cli
        if (!existsSync(cli) || !(await execa(cli, ['buildx', 'version'], {reject: false})).failed) this.skip()
        const dir = await bin('bin-diagnose-28', {target: cli})
        const [client, server] = await versions(cli)
        const rows = await builderWith(dir).diagnose()
        expect(rows[0]).to.deep.equal({name: 'docker', ok: true, summary: `CLI ${client}, engine ${server}`})
        expect(rows[1]).to.include({ok: true, summary: 'the classic builder (buildx is not installed)'})
        expect(rows[1]!.hint).to.include('install buildx')
        const [, broken] = await builderWith(dir, {DOCKER_BUILDKIT: '1'}).diagnose()
        expect(broken).to.include({name: 'docker build', ok: false})
        expect(broken!.summary).to.match(
          /^BuildKit is enabled \(DOCKER_BUILDKIT=1\) but the buildx component is missing/,
        )
        expect(broken!.hint).to.include('install buildx')
      })

      it('an engine it cannot reach: one failed row, with the hint kudev up would give', async () => {
        const rows = await builderWith(await bin('bin-diagnose-dead', {target: CLIS[1]!.cli}), {
          DOCKER_HOST: 'unix:///nonexistent.sock',
        }).diagnose()
        expect(rows).to.deep.equal([
          {
            hint: 'start Docker Desktop, or on Linux the daemon: sudo systemctl start docker (or run dockerd); DOCKER_HOST is set to unix:///nonexistent.sock: check that a daemon listens there, or unset it to use the default',
            name: 'docker',
            ok: false,
            summary: 'Docker daemon not reachable at unix:///nonexistent.sock (DOCKER_HOST=unix:///nonexistent.sock)',
          },
        ])
      })
    })
  })
})
