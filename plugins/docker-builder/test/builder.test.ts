import {expect} from 'chai'
import {type BuildContext, type BuildOptions, DIGEST_LABEL, KudevError} from 'kudev'
import {type Answer, type Answerer, type FakeToolkit, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'
import {text} from 'node:stream/consumers'

import {DockerBuilder} from '../src/builder.js'
import {engineAnswers} from './answers.js'
import {
  BUILDKIT_FAILED_RUN,
  CLASSIC_FAILED_RUN,
  STDERR_DEAD_SOCKET,
  STDERR_INVALID_REFERENCE,
  STDERR_NO_SUCH_IMAGE_20,
  STDERR_NO_SUCH_IMAGE_28,
  VERSION_JSON_20,
} from './texts.js'

const DIGEST = '1a2b3c4d'.repeat(8)
const REF = 'myapp:kudev-1a2b3c4d'
const NEW_ID = `sha256:${'e'.repeat(64)}`
const OLD_ID = `sha256:${'0'.repeat(64)}`

function buildContext(tar = () => Readable.from([Buffer.alloc(1024)])): BuildContext {
  // No folder: these tests are about the tar; the folder path runs against a real engine.
  return {
    digest: DIGEST,
    dockerfile: 'Dockerfile',
    folder: async () => undefined,
    hiddenInTar: [],
    root: '/src/app',
    tar,
  }
}

function buildOptions(overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    buildArgs: {},
    dockerfile: '/src/app/Dockerfile',
    imageName: 'myapp',
    labels: {[DIGEST_LABEL]: DIGEST},
    source: '/src/app',
    tag: 'kudev-1a2b3c4d',
    ...overrides,
  }
}

function inspectJson(id: string, labels: Record<string, string> | null): Answer {
  return {stdout: JSON.stringify({Config: {Labels: labels}, Id: id})}
}

/** Every --iidfile a build was given, to check none is left behind. */
const iidfiles: string[] = []
const absent: Answer = {exitCode: 1, stderr: STDERR_NO_SUCH_IMAGE_28}

/**
 * An engine that answers inspect with `before` until the build ran and `after` from then on; the build
 * itself prints `lines` and exits with `exitCode` (writing the iidfile on success).
 */
function engine(options: {
  before?: Answer
  after?: Answer
  lines?: string
  exitCode?: number
  rm?: Answer
  tag?: Answer
  /** `docker image ls` of untagged images with the build's labels (none by default). */
  untagged?: Answer
}): Answerer {
  let built = false
  return async (command) => {
    const known = engineAnswers(command)
    if (known) return known
    const args = command.slice(1)
    if (args[0] === 'build') iidfiles.push(args[args.indexOf('--iidfile') + 1]!)
    if (args[0] === 'image' && args[1] === 'inspect') return (built ? options.after : options.before) ?? absent
    if (args[0] === 'build') {
      built = true
      if ((options.exitCode ?? 0) === 0) await writeFile(args[args.indexOf('--iidfile') + 1]!, `${NEW_ID}\n`)
      return {exitCode: options.exitCode ?? 0, stderr: options.lines ?? ''}
    }

    if (args[0] === 'image' && args[1] === 'ls') return options.untagged ?? {}
    if (args[0] === 'image' && args[1] === 'rm') return options.rm ?? {}
    if (args[0] === 'tag') return options.tag ?? {}
    throw new Error(`unexpected docker ${args.join(' ')}`)
  }
}

/** The calls about the tag: every call but the look for untagged images that follows them. */
function tagWork(kit: Parameters<typeof argsOf>[0]): string[][] {
  return argsOf(kit).filter((args) => !(args[0] === 'image' && args[1] === 'ls'))
}

/** The arguments docker was given, call by call. */
const argsOf = (kit: FakeToolkit) => kit.calls.map((call) => call.args)
const signal = new AbortController().signal
/** Whatever the machine running the tests has set, these tests see no DOCKER_* variables. */
const CLEAN_ENV = {DOCKER_BUILDKIT: undefined, DOCKER_CONTEXT: undefined, DOCKER_HOST: undefined}

describe('DockerBuilder', () => {
  describe('build', () => {
    it('builds with the context on stdin and returns the ref and the ID from the iidfile', async () => {
      const kit = fakeToolkit(engine({lines: 'Step 1/1 : FROM scratch'}))
      const lines: string[] = []
      const image = await new DockerBuilder(kit, {env: CLEAN_ENV}).build(
        buildContext(),
        buildOptions({onOutput: (line) => lines.push(line)}),
        signal,
      )
      expect(image).to.deep.equal({id: NEW_ID, ref: REF})
      expect(lines).to.deep.equal(['Step 1/1 : FROM scratch'])
      expect(argsOf(kit).map((args) => args.slice(0, 2).join(' '))).to.deep.equal([
        'version --format',
        'buildx version',
        'image inspect',
        'build -f',
      ])
      expect(kit.logs.debug).to.include('docker CLI 28.2.2, engine 20.10.24+dfsg1: classic builder')
    })

    it('removes the iidfile and its folder, after a success and after a failure', async () => {
      iidfiles.length = 0
      await new DockerBuilder(fakeToolkit(engine({})), {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal)
      await rejection(
        new DockerBuilder(fakeToolkit(engine({exitCode: 1})), {env: CLEAN_ENV}).build(
          buildContext(),
          buildOptions(),
          signal,
        ),
      )
      expect(iidfiles).to.have.length(2)
      for (const file of iidfiles) expect(existsSync(path.dirname(file)), file).to.equal(false)
    })

    it('says once per project, after a slow classic build, that BuildKit would send only what changed', async () => {
      const kit = fakeToolkit(engine({}))
      const builder = new DockerBuilder(kit, {env: CLEAN_ENV, slowBuildMs: 0})
      await builder.build(buildContext(), buildOptions(), signal)
      await builder.build(buildContext(), buildOptions(), signal)
      expect(kit.logs.info).to.deep.equal([
        'the classic builder is sent the whole build context on every build; BuildKit is sent only what changed since its last build of the project: install buildx to build with BuildKit',
      ])
      const fast = fakeToolkit(engine({}))
      await new DockerBuilder(fast, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal)
      expect(fast.logs.info, 'a fast build says nothing').to.deep.equal([])
    })

    it('checks the engine once per builder', async () => {
      const kit = fakeToolkit(engine({}))
      const builder = new DockerBuilder(kit, {env: CLEAN_ENV})
      await builder.inspect(REF)
      await builder.build(buildContext(), buildOptions(), signal)
      await builder.build(buildContext(), buildOptions(), signal)
      expect(argsOf(kit).filter((args) => args[0] === 'version' || args[0] === 'buildx')).to.have.length(2)
    })

    it('prepare() asks the engine what inspect() and build() wait for, once: they ask nothing more of it', async () => {
      const kit = fakeToolkit(engine({}))
      const builder = new DockerBuilder(kit, {env: CLEAN_ENV})
      await builder.prepare()
      const asked = argsOf(kit).length
      expect(asked).to.be.greaterThan(0)
      expect(argsOf(kit).every((args) => args[0] === 'version' || args[0] === 'buildx')).to.equal(true)
      await builder.inspect(REF)
      await builder.build(buildContext(), buildOptions(), signal)
      expect(argsOf(kit).filter((args) => args[0] === 'version' || args[0] === 'buildx')).to.have.length(asked)
    })

    it("fails with kind build naming the classic step, docker's reason and the last lines", async () => {
      const kit = fakeToolkit(engine({exitCode: 3, lines: CLASSIC_FAILED_RUN}))
      const error = await rejection(
        new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal),
      )
      expect(error.code).to.equal('build')
      expect(error.message).to.equal(
        `docker build failed at step "Step 3/4 : RUN echo boom >&2; exit 3": The command '/bin/sh -c echo boom >&2; exit 3' returned a non-zero code: 3`,
      )
      expect(error.details.at(-1)).to.equal(
        "The command '/bin/sh -c echo boom >&2; exit 3' returned a non-zero code: 3",
      )
      expect(error.data).to.deep.equal({exitCode: 3, step: 'Step 3/4 : RUN echo boom >&2; exit 3'})
      expect(error.hint).to.equal(
        "fix that step; the lines above are the end of docker's output, and -v shows all of it",
      )
    })

    it('fails naming the BuildKit vertex and its ERROR line', async () => {
      const kit = fakeToolkit(async (command, options) =>
        command[1] === 'version'
          ? {stdout: VERSION_JSON_20}
          : engine({exitCode: 1, lines: BUILDKIT_FAILED_RUN})(command, options),
      )
      const error = await rejection(
        new DockerBuilder(kit, {env: {...CLEAN_ENV, DOCKER_BUILDKIT: '1'}}).build(
          buildContext(),
          buildOptions(),
          signal,
        ),
      )
      expect(error.message).to.equal(
        'docker build failed at step "#5 [3/4] RUN echo boom >&2; exit 3": executor failed running [/bin/sh -c echo boom >&2; exit 3]: exit code: 3',
      )
      expect(argsOf(kit).find((args) => args[0] === 'build')).to.include('--progress=plain')
    })

    it('says only the exit code when docker printed nothing', async () => {
      const error = await rejection(
        new DockerBuilder(fakeToolkit(engine({exitCode: 2})), {env: CLEAN_ENV}).build(
          buildContext(),
          buildOptions(),
          signal,
        ),
      )
      expect(error.message).to.equal('docker build failed with exit code 2')
      expect(error.hint).to.equal("the lines above are the end of docker's output, and -v shows all of it")
    })

    it('shortens a very long step in the message', async () => {
      const step = `Step 2/2 : RUN ${'x'.repeat(300)}`
      const error = await rejection(
        new DockerBuilder(fakeToolkit(engine({exitCode: 1, lines: step})), {env: CLEAN_ENV}).build(
          buildContext(),
          buildOptions(),
          signal,
        ),
      )
      expect(error.message).to.equal(`docker build failed at step "${step.slice(0, 159)}…" with exit code 1`)
    })

    it('reports a daemon that went away during the build as an engine error', async () => {
      const error = await rejection(
        new DockerBuilder(fakeToolkit(engine({exitCode: 1, lines: STDERR_DEAD_SOCKET})), {env: CLEAN_ENV}).build(
          buildContext(),
          buildOptions(),
          signal,
        ),
      )
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal('Docker daemon not reachable at unix:///nonexistent.sock')
    })

    it('does not start docker build once interrupted', async () => {
      const controller = new AbortController()
      controller.abort()
      const kit = fakeToolkit(engine({}))
      const error = await rejection(
        new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), controller.signal),
      )
      expect(error.code).to.equal('interrupted')
      expect(argsOf(kit).some((args) => args[0] === 'build')).to.equal(false)
    })

    it('closes the context stream whatever happens', async () => {
      const tar = Readable.from([Buffer.alloc(1)])
      await rejection(
        new DockerBuilder(fakeToolkit(engine({exitCode: 1})), {env: CLEAN_ENV}).build(
          buildContext(() => tar),
          buildOptions(),
          signal,
        ),
      )
      expect(tar.destroyed).to.equal(true)
    })

    describe('leaves no tag naming other content', () => {
      const good = inspectJson(OLD_ID, {[DIGEST_LABEL]: DIGEST})

      it('does nothing when the failed build left no image under the tag', async () => {
        const kit = fakeToolkit(engine({exitCode: 1}))
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(tagWork(kit).at(-1)).to.deep.equal(['image', 'inspect', '--format', '{{json .}}', REF])
      })

      it('leaves a previous good image of this digest alone', async () => {
        const kit = fakeToolkit(engine({after: good, before: good, exitCode: 1}))
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(tagWork(kit).at(-1)![1]).to.equal('inspect')
      })

      it('removes a tag the stopped build created', async () => {
        const kit = fakeToolkit(engine({after: inspectJson(NEW_ID, {[DIGEST_LABEL]: DIGEST}), exitCode: 1}))
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(tagWork(kit).at(-1)).to.deep.equal(['image', 'rm', '--force', REF])
      })

      it("removes untagged images carrying the build's labels, looked up by those labels", async () => {
        const kit = fakeToolkit(engine({exitCode: 1, untagged: {stdout: `${NEW_ID}\n`}}))
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(argsOf(kit).slice(-2)).to.deep.equal([
          ['image', 'ls', '--quiet', '--filter', 'dangling=true', '--filter', `label=${DIGEST_LABEL}=${DIGEST}`],
          ['image', 'rm', NEW_ID],
        ])
      })

      it('puts the tag back on the previous good image when the stopped build moved it', async () => {
        const kit = fakeToolkit(
          engine({after: inspectJson(NEW_ID, {[DIGEST_LABEL]: DIGEST}), before: good, exitCode: 1}),
        )
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(tagWork(kit).at(-1)).to.deep.equal(['tag', OLD_ID, REF])
      })

      it('removes a tag that names an image of another digest', async () => {
        const other = inspectJson(OLD_ID, {[DIGEST_LABEL]: 'f'.repeat(64)})
        const kit = fakeToolkit(engine({after: other, before: other, exitCode: 1}))
        await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal))
        expect(tagWork(kit).at(-1)).to.deep.equal(['image', 'rm', '--force', REF])
      })

      it('warns, and still reports the build failure, when the tag cannot be removed', async () => {
        const kit = fakeToolkit(
          engine({
            after: inspectJson(NEW_ID, null),
            exitCode: 1,
            rm: {exitCode: 1, stderr: 'Error response from daemon: conflict'},
          }),
        )
        const error = await rejection(
          new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal),
        )
        expect(error.code).to.equal('build')
        expect(kit.logs.warn).to.deep.equal([`could not remove the tag ${REF}: Error response from daemon: conflict`])
      })

      it('rethrows the error that stopped the build (e.g. the context changed)', async () => {
        const changed = new KudevError('build', 'app.js changed while it was being sent to the builder (size 1 → 2)', {
          data: {changed: 'app.js'},
        })
        const kit = fakeToolkit(async (command) => {
          if (command[1] === 'build') throw changed
          return engineAnswers(command) ?? absent
        })
        expect(
          await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).build(buildContext(), buildOptions(), signal)),
        ).to.equal(changed)
      })
    })
  })

  describe('inspect', () => {
    it('returns the ID and labels', async () => {
      const kit = fakeToolkit((command) => engineAnswers(command) ?? inspectJson(NEW_ID, {a: 'b'}))
      expect(await new DockerBuilder(kit, {env: CLEAN_ENV}).inspect(REF)).to.deep.equal({id: NEW_ID, labels: {a: 'b'}})
    })

    it('gives empty labels for an image without any', async () => {
      const kit = fakeToolkit((command) => engineAnswers(command) ?? inspectJson(NEW_ID, null))
      expect(await new DockerBuilder(kit, {env: CLEAN_ENV}).inspect(REF)).to.deep.equal({id: NEW_ID, labels: {}})
    })

    for (const [cli, stderr] of [
      ['28', STDERR_NO_SUCH_IMAGE_28],
      ['20.10', STDERR_NO_SUCH_IMAGE_20],
    ] as const) {
      it(`returns undefined for an absent image (CLI ${cli})`, async () => {
        const kit = fakeToolkit((command) => engineAnswers(command) ?? {exitCode: 1, stderr, stdout: '[]'})
        expect(await new DockerBuilder(kit, {env: CLEAN_ENV}).inspect(REF)).to.equal(undefined)
      })
    }

    it('fails for a malformed name, as a usage error, instead of calling it absent', async () => {
      const kit = fakeToolkit((command) => engineAnswers(command) ?? {exitCode: 1, stderr: STDERR_INVALID_REFERENCE})
      const error = await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).inspect('BAD::x'))
      expect(error.code).to.equal('usage')
      expect(error.message).to.equal('"BAD::x" is not an image name Docker accepts (invalid reference format)')
      expect(error.hint).to.match(/^an image name looks like name\[:tag\]/)
    })

    it('tells an engine failure from an absent image', async () => {
      let calls = 0
      const kit = fakeToolkit(
        (command) => engineAnswers(command) ?? (++calls, {exitCode: 1, stderr: STDERR_DEAD_SOCKET}),
      )
      const error = await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).inspect(REF))
      expect(error.message).to.equal('Docker daemon not reachable at unix:///nonexistent.sock')
      expect(calls).to.equal(1)
    })

    it('stops at the engine check', async () => {
      const kit = fakeToolkit(() => ({exitCode: 1, stderr: STDERR_DEAD_SOCKET}))
      await rejection(new DockerBuilder(kit, {env: CLEAN_ENV}).inspect(REF))
      expect(argsOf(kit)).to.deep.equal([['version', '--format', '{{json .}}']])
    })
  })

  describe('save', () => {
    it('streams `docker save` and ends once it exited 0', async () => {
      let exit!: () => void
      const exited = new Promise<void>((resolve) => {
        exit = resolve
      })
      const kit = fakeToolkit((command) => engineAnswers(command) ?? {exited, stdout: 'manifest.json'})
      const stream = await new DockerBuilder(kit, {env: CLEAN_ENV}).save(REF)
      let ended = false
      const content = text(stream).then((body) => {
        ended = true
        return body
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(ended).to.equal(false)
      exit()
      expect(await content).to.equal('manifest.json')
      expect(argsOf(kit).at(-1)).to.deep.equal(['save', REF])
    })

    it('errors the stream when `docker save` fails, so a partial tar never looks whole', async () => {
      const stderr = 'Error response from daemon: reference does not exist\n'
      const kit = fakeToolkit((command) => engineAnswers(command) ?? {exitCode: 1, stderr, stdout: 'partial'})
      const error = await rejection(text(await new DockerBuilder(kit, {env: CLEAN_ENV}).save(REF)))
      expect(error).to.be.instanceOf(KudevError)
      expect(error.message).to.equal(`docker save ${REF} exited with code 1`)
      expect(error.details).to.deep.equal(['Error response from daemon: reference does not exist'])
    })
  })
})
