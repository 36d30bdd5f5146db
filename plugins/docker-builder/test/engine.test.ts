import {expect} from 'chai'
import type {KudevError} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'

import {buildkitSetting, checkEngine, detectBuilderMode, engineProblem, envNote, majorVersion} from '../src/engine.js'
import {
  STDERR_DEAD_SOCKET,
  STDERR_DEAD_TCP,
  STDERR_NO_BUILDX_28,
  STDERR_NO_CONTEXT_20,
  STDERR_NO_CONTEXT_28,
  STDERR_PERMISSION_20,
  STDERR_PERMISSION_28,
  VERSION_JSON_20,
  VERSION_JSON_28,
  VERSION_JSON_NO_SERVER_28,
} from './texts.js'

const toolkit = fakeToolkit(() => ({}))

function classify(stderr: string, env: NodeJS.ProcessEnv = {}): KudevError | undefined {
  return engineProblem(toolkit, stderr, env) as KudevError | undefined
}

describe('docker engine check', () => {
  describe("classifies the CLI's own failure texts", () => {
    for (const [name, stderr, address] of [
      ['a dead unix socket', STDERR_DEAD_SOCKET, 'unix:///nonexistent.sock'],
      ['a dead tcp address', STDERR_DEAD_TCP, 'tcp://127.0.0.1:1'],
    ] as const) {
      it(`daemon not reachable: ${name}, naming DOCKER_HOST`, () => {
        const error = classify(stderr, {DOCKER_HOST: address})!
        expect(error.code).to.equal('engine')
        expect(error.message).to.equal(`Docker daemon not reachable at ${address} (DOCKER_HOST=${address})`)
        expect(error.hint)
          .to.include('start Docker Desktop')
          .and.include('sudo systemctl start docker')
          .and.include(`DOCKER_HOST is set to ${address}`)
        expect(error.data).to.deep.equal({address, problem: 'unreachable'})
      })
    }

    it('daemon not reachable with the default socket: no environment advice', () => {
      const error = classify(
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      )!
      expect(error.message).to.equal('Docker daemon not reachable at unix:///var/run/docker.sock')
      expect(error.hint).to.equal(
        'start Docker Desktop, or on Linux the daemon: sudo systemctl start docker (or run dockerd)',
      )
    })

    it('daemon not reachable in other words (a refused connection), naming DOCKER_CONTEXT', () => {
      const error = classify(
        'error during connect: Get "http://docker.example:2375/v1.41/version": dial tcp 127.0.0.1:2375: connect: connection refused',
        {DOCKER_CONTEXT: 'remote'},
      )!
      expect(error.message).to.equal('Docker daemon not reachable (DOCKER_CONTEXT=remote)')
      expect(error.details).to.have.length(1)
      expect(error.hint).to.include('docker context inspect remote')
    })

    for (const [cli, stderr] of [
      ['28', STDERR_PERMISSION_28],
      ['20.10', STDERR_PERMISSION_20],
    ] as const) {
      it(`permission denied on the socket (CLI ${cli}), past the config-file warning`, () => {
        const error = classify(stderr)!
        expect(error.code).to.equal('engine')
        expect(error.message).to.equal('permission denied on the Docker socket unix:///var/run/docker.sock')
        expect(error.hint).to.include('docker group').and.include('sudo')
        expect(error.data).to.deep.equal({address: 'unix:///var/run/docker.sock', problem: 'permission'})
      })
    }

    for (const [cli, stderr] of [
      ['28', STDERR_NO_CONTEXT_28],
      ['20.10', STDERR_NO_CONTEXT_20],
    ] as const) {
      it(`a context that does not exist (CLI ${cli})`, () => {
        const error = classify(stderr, {DOCKER_CONTEXT: 'nosuch'})!
        expect(error.message).to.equal('Docker context "nosuch" does not exist (DOCKER_CONTEXT=nosuch)')
        expect(error.hint).to.include('set DOCKER_CONTEXT to one of them, or unset it')
      })
    }

    it('a missing context chosen by `docker context use` points there instead', () => {
      expect(classify(STDERR_NO_CONTEXT_20)!.hint).to.include('docker context use default')
    })

    it('leaves other failures alone', () => {
      expect(classify('Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO')).to.equal(
        undefined,
      )
    })
  })

  describe('checkEngine', () => {
    const answering = (answer: Answer) => fakeToolkit(() => answer)

    it('returns the client and server versions', async () => {
      expect(await checkEngine(answering({stdout: `${VERSION_JSON_28}\n`}), {})).to.deep.equal({
        client: '28.2.2',
        server: '20.10.24+dfsg1',
      })
      expect(await checkEngine(answering({stdout: VERSION_JSON_20}), {})).to.deep.equal({
        client: '20.10.24+dfsg1',
        server: '20.10.24+dfsg1',
      })
    })

    it('runs `docker version` with the given environment and the install hint', async () => {
      let seen: unknown
      await checkEngine(
        fakeToolkit(([, ...args], options) => {
          seen = {args, env: options.env, errorCode: options.errorCode, hint: options.notFoundHint}
          return {stdout: VERSION_JSON_28}
        }),
        {DOCKER_HOST: 'unix:///x.sock'},
      )
      expect(seen).to.deep.include({
        args: ['version', '--format', '{{json .}}'],
        env: {DOCKER_HOST: 'unix:///x.sock'},
        errorCode: 'engine',
      })
      expect((seen as {hint: string}).hint)
        .to.include('Docker Desktop')
        .and.include('docker.io')
    })

    it('turns an unreachable daemon into the engine error', async () => {
      const error = await rejection(
        checkEngine(answering({exitCode: 1, stderr: STDERR_DEAD_SOCKET, stdout: VERSION_JSON_NO_SERVER_28}), {
          DOCKER_HOST: 'unix:///nonexistent.sock',
        }),
      )
      expect(error.message).to.equal(
        'Docker daemon not reachable at unix:///nonexistent.sock (DOCKER_HOST=unix:///nonexistent.sock)',
      )
    })

    it("reports an unrecognised failure with docker's last line", async () => {
      const error = await rejection(
        checkEngine(answering({exitCode: 1, stderr: 'something odd\nError: the engine exploded'}), {}),
      )
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal('docker version failed: Error: the engine exploded')
      expect(error.details).to.deep.equal(['something odd', 'Error: the engine exploded'])
    })

    it('does not trust a success without a server half or with unreadable JSON', async () => {
      expect((await rejection(checkEngine(answering({stdout: VERSION_JSON_NO_SERVER_28}), {}))).message).to.equal(
        'docker version failed: exit code 0',
      )
      expect((await rejection(checkEngine(answering({stdout: '{not json'}), {}))).code).to.equal('engine')
    })

    it('says the daemon did not answer when `docker version` outlives the timeout', async () => {
      const hanging = fakeToolkit(
        (_args, options) =>
          new Promise((resolve, reject) => {
            options.signal!.addEventListener('abort', () => reject(new Error('interrupted: docker version')))
          }),
      )
      const error = await rejection(checkEngine(hanging, {DOCKER_HOST: 'tcp://127.0.0.1:23999'}, 50))
      expect(error.message).to.equal(
        'the Docker daemon did not answer within 0.05 s (DOCKER_HOST=tcp://127.0.0.1:23999)',
      )
      expect(error.data).to.deep.equal({problem: 'timeout'})
    })

    it('passes the not-installed error through', async () => {
      const missing = fakeToolkit(() => {
        throw toolkit.error('engine', 'docker is not installed (not found on PATH)')
      })
      expect((await rejection(checkEngine(missing, {}))).message).to.equal(
        'docker is not installed (not found on PATH)',
      )
    })
  })

  describe('which builder docker build runs', () => {
    const cli28 = {client: '28.2.2', server: '20.10.24'}
    const cli20 = {client: '20.10.24+dfsg1', server: '20.10.24'}
    const buildx = (present: boolean) => {
      const version = present
        ? {stdout: 'github.com/docker/buildx v0.14.0'}
        : {exitCode: 1, stderr: STDERR_NO_BUILDX_28}
      return fakeToolkit(([, sub]) => (sub === 'buildx' ? version : {}))
    }

    it('CLI 20.10: BuildKit built in, only with DOCKER_BUILDKIT=1; buildx is never asked', async () => {
      const kit = buildx(false)
      expect(await detectBuilderMode(kit, {DOCKER_BUILDKIT: '1'}, cli20)).to.equal('buildkit')
      expect(await detectBuilderMode(kit, {}, cli20)).to.equal('classic')
      expect(kit.calls).to.deep.equal([])
    })

    it('CLI 23+: BuildKit when buildx is there, classic when it is not', async () => {
      expect(await detectBuilderMode(buildx(true), {}, cli28)).to.equal('buildkit')
      expect(await detectBuilderMode(buildx(false), {}, cli28)).to.equal('classic')
    })

    it('DOCKER_BUILDKIT=0 means classic without asking', async () => {
      const kit = buildx(true)
      expect(await detectBuilderMode(kit, {DOCKER_BUILDKIT: 'false'}, cli28)).to.equal('classic')
      expect(kit.calls).to.deep.equal([])
    })

    it('DOCKER_BUILDKIT=1 on CLI 23+ without buildx: the engine error that explains it', async () => {
      const error = await rejection(detectBuilderMode(buildx(false), {DOCKER_BUILDKIT: '1'}, cli28))
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal(
        'BuildKit is enabled (DOCKER_BUILDKIT=1) but the buildx component is missing or broken: docker 28.2.2 builds with BuildKit only through buildx',
      )
      expect(error.hint).to.include('unset DOCKER_BUILDKIT').and.include('install buildx')
      expect(error.details).to.deep.equal([
        'docker: unknown command: docker buildx',
        "Run 'docker --help' for more information",
      ])
    })

    it('reads DOCKER_BUILDKIT as the CLI does, and refuses what the CLI refuses', async () => {
      for (const value of ['1', 't', 'TRUE', 'True'])
        expect(buildkitSetting(toolkit, {DOCKER_BUILDKIT: value})).to.equal(true)
      for (const value of ['0', 'f', 'false', 'FALSE'])
        expect(buildkitSetting(toolkit, {DOCKER_BUILDKIT: value})).to.equal(false)
      expect(buildkitSetting(toolkit, {DOCKER_BUILDKIT: ''})).to.equal(undefined)
      expect(() => buildkitSetting(toolkit, {DOCKER_BUILDKIT: 'yes'})).to.throw('DOCKER_BUILDKIT=yes is not a boolean')
    })
  })

  it('reads the major version, 0 when there is none', () => {
    expect(majorVersion('28.2.2')).to.equal(28)
    expect(majorVersion('20.10.24+dfsg1')).to.equal(20)
    expect(majorVersion('')).to.equal(0)
  })

  it('names DOCKER_HOST and DOCKER_CONTEXT when set', () => {
    expect(envNote({})).to.equal('')
    expect(envNote({DOCKER_CONTEXT: 'c', DOCKER_HOST: 'unix:///s'})).to.equal(
      ' (DOCKER_HOST=unix:///s, DOCKER_CONTEXT=c)',
    )
  })
})
