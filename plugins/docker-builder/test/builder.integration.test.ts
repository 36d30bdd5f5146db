/**
 * The docker builder against the real engine, once with the classic builder (Docker CLI 28, no buildx)
 * and once with BuildKit (Debian's CLI 20.10 with DOCKER_BUILDKIT=1). Each CLI is put first on PATH
 * through a folder holding a `docker` link to it, as a user's PATH would.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {realToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import {mkdir, symlink} from 'node:fs/promises'
import path from 'node:path'
import {buffer, text} from 'node:stream/consumers'

import {isContextChanged} from '../../../src/context/tar.js'
import {builderProject, editedWhileBuilding, editedWhileSending} from '../../../test/support/build-context.js'
import {docker, dockerResult, isCI, requireDocker, suiteCleanup, uniqueName} from '../../../test/support/docker.js'
import {BUSYBOX_BASE, ensureBusyboxBase} from '../../../test/support/images.js'
import {processes, until} from '../../../test/support/processes.js'
import {makeTree, type TreeSpec} from '../../../test/support/tree.js'
import {DockerBuilder} from '../src/builder.js'
import {DIGEST_LABEL} from '../../../src/plugins/contract.js'

interface BuilderCase {
  name: string
  buildkit: boolean
  cli: string
  env: NodeJS.ProcessEnv
  /** BuildKit RUN steps need it on these machines (dockerd runs with --bridge=none). */
  network?: string
}

const CASES: BuilderCase[] = [
  {
    cli: process.env.KUDEV_TEST_DOCKER_CLASSIC || '/usr/local/bin/docker',
    buildkit: false,
    env: {DOCKER_BUILDKIT: undefined},
    name: 'classic builder',
  },
  {
    cli: process.env.KUDEV_TEST_DOCKER_BUILDKIT || '/usr/bin/docker',
    buildkit: true,
    env: {DOCKER_BUILDKIT: '1'},
    name: 'BuildKit',
    network: 'none',
  },
]

const toolkit = realToolkit()

/** A folder holding a `docker` link to `cli`, for the front of PATH. */
async function binFolder(cli: string, parent: string): Promise<string> {
  const bin = path.join(parent, 'bin')
  await mkdir(bin)
  await symlink(cli, path.join(bin, 'docker'))
  return bin
}

async function imageLabels(ref: string): Promise<Record<string, string>> {
  return JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', ref])) as Record<
    string,
    string
  >
}

/** A file's content in an image (FROM scratch ones too: nothing is run). */
async function fileInImage(ref: string, file: string): Promise<string> {
  const container = await docker(['create', ref, 'true'])
  try {
    const archive = await execa('docker', ['cp', `${container}:${file}`, '-'], {encoding: 'buffer'})
    return (await execa('tar', ['-xO'], {input: archive.stdout})).stdout + '\n'
  } finally {
    await docker(['rm', '-f', container])
  }
}

async function imageExists(ref: string): Promise<boolean> {
  return !(await dockerResult(['image', 'inspect', ref])).failed
}

for (const builderCase of CASES) {
  describe(`docker builder with the ${builderCase.name} (integration)`, function () {
    this.timeout(180_000)
    const cleanup = suiteCleanup()
    let builder: DockerBuilder
    let work: string

    before(async function () {
      await requireDocker(this)
      if (!existsSync(builderCase.cli)) {
        if (isCI()) throw new Error(`${builderCase.cli} is required in CI for the ${builderCase.name}`)
        this.skip()
      }

      await ensureBusyboxBase()
      work = await cleanup.tempDir('kudev-docker-builder-')
      const bin = await binFolder(builderCase.cli, work)
      builder = new DockerBuilder(toolkit, {env: {...builderCase.env, PATH: `${bin}:${process.env.PATH}`}})
    })

    /** A project folder with `files` (in `into` when given), its BuildContext, and build options naming a fresh image. */
    async function project(files: TreeSpec, dockerfile?: string, into?: string) {
      const dir = into ?? (await cleanup.tempDir('kudev-project-'))
      await makeTree(dir, files)
      const made = await builderProject(dir, 'kudev-it-builder', {network: builderCase.network}, dockerfile)
      return {...made, ref: cleanup.image(made.ref)}
    }

    it('builds FROM scratch: the ID is the one in the iidfile and the engine, the digest label is on it', async () => {
      const {context, lines, options, ref} = await project({
        Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n',
        'hello.txt': 'hello\n',
      })
      const image = await builder.build(context, options, new AbortController().signal)
      expect(image.ref).to.equal(ref)
      expect(image.id).to.match(/^sha256:[0-9a-f]{64}$/)
      expect(await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).to.equal(image.id)
      expect((await imageLabels(ref))[DIGEST_LABEL]).to.equal(context.digest)
      expect(await builder.inspect(ref)).to.deep.equal({id: image.id, labels: {[DIGEST_LABEL]: context.digest}})
      expect(lines.some((line) => line.includes('COPY hello.txt /hello.txt'))).to.equal(true)
    })

    it('runs RUN steps on the busybox base, with build args holding spaces and =', async () => {
      const {context, options, ref} = await project({
        Dockerfile: `FROM ${BUSYBOX_BASE}\nARG GREETING\nARG EMPTY\nRUN echo "$GREETING|$EMPTY" > /greeting.txt\n`,
      })
      await builder.build(
        context,
        {...options, buildArgs: {EMPTY: '', GREETING: 'hello world=1 "quoted"'}},
        new AbortController().signal,
      )
      expect(await docker(['run', '--rm', '--network', 'none', ref, 'cat', '/greeting.txt'])).to.equal(
        'hello world=1 "quoted"|',
      )
    })

    it('builds the --target stage of a multi-stage Dockerfile, with the labels it is given', async () => {
      const {context, options, ref} = await project({
        Dockerfile: 'FROM scratch AS first\nLABEL stage=first\n\nFROM scratch AS second\nLABEL stage=second\n',
      })
      await builder.build(
        context,
        {...options, labels: {...options.labels, 'org.example.note': 'a b=c'}, target: 'first'},
        new AbortController().signal,
      )
      expect(await imageLabels(ref)).to.deep.equal({
        [DIGEST_LABEL]: context.digest,
        'org.example.note': 'a b=c',
        stage: 'first',
      })
    })

    it('passes --platform', async () => {
      // The classic builder on engine 20.10 keeps the base's platform (scratch: the engine's own); BuildKit sets it.
      const platform = builderCase.buildkit ? 'linux/arm64' : 'linux/amd64'
      const {context, options, ref} = await project({Dockerfile: 'FROM scratch\nLABEL x=y\n'})
      await builder.build(context, {...options, platform}, new AbortController().signal)
      expect(await docker(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', ref])).to.equal(platform)
    })

    it('ships a Dockerfile from outside the context under a name that collides with nothing in it', async () => {
      const outside = await cleanup.tempDir('kudev-dockerfile-')
      await makeTree(outside, {Dockerfile: `FROM ${BUSYBOX_BASE}\nLABEL which=outside\nCOPY . /ctx/\n`})
      const {context, options, ref} = await project(
        {Dockerfile: 'FROM scratch\nLABEL which=inside\n', 'data.txt': 'data\n'},
        path.join(outside, 'Dockerfile'),
      )
      expect(context.dockerfile).to.match(/^\.dockerfile\./)
      await builder.build(context, options, new AbortController().signal)
      expect((await imageLabels(ref)).which).to.equal('outside')
      const listing = (await docker(['run', '--rm', '--network', 'none', ref, 'ls', '-A', '/ctx'])).split('\n')
      // The classic builder gets the tar, whose .dockerignore keeps the hidden Dockerfile out of COPY;
      // BuildKit gets kudev's folder, which holds the hashed entries only, the copied Dockerfile beside it.
      expect(listing).to.deep.equal(['Dockerfile', 'data.txt'])
      expect(await docker(['run', '--rm', '--network', 'none', ref, 'cat', '/ctx/Dockerfile'])).to.equal(
        'FROM scratch\nLABEL which=inside',
      )
    })

    it('fails a RUN step with kind build naming the step, and leaves no tag and no container', async () => {
      const marker = uniqueName('boom')
      const {context, options, ref} = await project({
        Dockerfile: `FROM ${BUSYBOX_BASE}\nRUN echo fine ${marker}\nRUN echo ${marker} >&2; exit 3\n`,
      })
      // The classic builder keeps the image of the step that worked, untagged, as cache.
      cleanup.add(`intermediate images of ${marker}`, async () => {
        for (const id of (await docker(['images', '--filter', 'dangling=true', '--quiet', '--no-trunc']))
          .split('\n')
          .filter(Boolean)) {
          const command = await dockerResult(['image', 'inspect', '--format', '{{json .ContainerConfig.Cmd}}', id])
          if (command.stdout.includes(marker)) await docker(['image', 'rm', id])
        }
      })
      const error = await rejection(builder.build(context, options, new AbortController().signal))
      expect(error.code).to.equal('build')
      expect(error.exitCode).to.equal(6)
      // The classic builder turns each --label into a step of its own, hence 3/4.
      const step = builderCase.buildkit
        ? `[3/3] RUN echo ${marker} >&2; exit 3`
        : `Step 3/4 : RUN echo ${marker} >&2; exit 3`
      expect(error.message).to.include(`docker build failed at step "`).and.include(step)
      expect(error.message).to.match(/(returned a non-zero code|exit code): 3$/)
      expect(error.details.join('\n')).to.include(marker)
      expect(await imageExists(ref)).to.equal(false)
      expect(await docker(['ps', '-a', '--no-trunc', '--format', '{{.Command}}'])).not.to.include(marker)
    })

    it('stops on abort during a slow RUN: interrupted within seconds, no tag, no docker build left', async () => {
      const marker = uniqueName('slow')
      const {context, options, ref} = await project({
        Dockerfile: `FROM ${BUSYBOX_BASE}\nRUN echo ${marker}; sleep 30\n`,
      })
      const controller = new AbortController()
      let abortedAt = 0
      const building = builder.build(
        context,
        {
          ...options,
          onOutput(line) {
            // The step prints the marker once its container runs.
            if (line.includes(marker) && !line.includes('RUN') && abortedAt === 0) {
              abortedAt = Date.now()
              controller.abort()
            }
          },
        },
        controller.signal,
      )
      const error = await rejection(building)
      expect(abortedAt, 'the RUN step never started').to.be.greaterThan(0)
      expect(error.code).to.equal('interrupted')
      expect(Date.now() - abortedAt).to.be.lessThan(8000)
      expect(await imageExists(ref)).to.equal(false)
      expect(await processes(`docker build .*${context.digest}`)).to.deep.equal([])
      expect(
        await until(async () => (await processes(marker)).length === 0, 15_000),
        'the RUN step still runs',
      ).to.equal(true)
    })

    it('leaves no tag when a short build is stopped, even one that got to finish', async () => {
      // BuildKit's CLI 20.10 ignores SIGTERM while its context comes from a pipe, so a short step ends
      // (and tags) in the 5 s before exec's SIGKILL; the classic CLI stops at once and tags nothing.
      const marker = uniqueName('short')
      const {context, options, ref} = await project({Dockerfile: `FROM ${BUSYBOX_BASE}\nRUN echo ${marker}\n`})
      const controller = new AbortController()
      const error = await rejection(
        builder.build(
          context,
          {
            ...options,
            onOutput(line) {
              if (line.includes(marker) && !line.includes('RUN')) controller.abort()
            },
          },
          controller.signal,
        ),
      )
      expect(controller.signal.aborted, 'the RUN step never started').to.equal(true)
      expect(error.code).to.equal('interrupted')
      // Whether the build got to tag before it was stopped is a race (it depends on when the CLI sets up its
      // signal handling): either way no tag may remain. builder.test.ts covers the untagging decision itself.
      expect(await imageExists(ref)).to.equal(false)
    })

    it('refuses a file edited while the tar is being sent: the context-changed error, and no tag', async () => {
      const {context, dir, options, ref} = await project({
        Dockerfile: 'FROM scratch\nCOPY big.bin /\n',
        'big.bin': Buffer.alloc(32 * 1024 * 1024, 7),
      })
      // BuildKit takes the tar only when the folder is not to be had (another kudev run builds from it).
      const editing = editedWhileSending({...context, folder: async () => undefined}, path.join(dir, 'big.bin'))
      const error = await rejection(builder.build(editing.context, options, new AbortController().signal))
      expect(editing.edited()).to.equal(true)
      expect(isContextChanged(error), error.message).to.equal(true)
      expect(error.message).to.match(/big\.bin changed while it was being sent to the builder/)
      expect(await imageExists(ref)).to.equal(false)
      expect(await processes(`docker build .*${context.digest}`)).to.deep.equal([])
    })

    if (builderCase.buildkit) {
      it('builds from the folder, tagged only after it checked nothing moved; the next build sends only the change', async () => {
        const {context, dir, options, ref} = await project({
          Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
          'big.bin': Buffer.alloc(4 * 1024 * 1024, 7),
          'app.js': 'one\n',
        })
        const sent = (lines: string[]) =>
          lines.flatMap((line) => /transferring context: ([\d.]+)([kMG]?B)/.exec(line) ?? []).slice(-2)
        const first: string[] = []
        const image = await builder.build(
          context,
          {...options, onOutput: (line) => first.push(line)},
          new AbortController().signal,
        )
        context.release()
        expect(await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).to.equal(image.id)
        expect(sent(first)[1], first.join('\n')).to.equal('MB')

        await makeTree(dir, {'app.js': 'two\n'})
        const next = await project({}, undefined, dir)
        const second: string[] = []
        await builder.build(
          next.context,
          {...next.options, onOutput: (line) => second.push(line)},
          new AbortController().signal,
        )
        next.context.release()
        const [amount, unit] = sent(second)
        expect(unit, second.join('\n')).to.equal('B')
        expect(Number(amount)).to.be.lessThan(4096)
        expect(await fileInImage(next.ref, '/ctx/app.js')).to.equal('two\n')
      })

      it('refuses a file edited while BuildKit builds from the folder: the context-changed error, and no tag', async () => {
        const {context, dir, options, ref} = await project({
          Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
          'app.js': 'one\n',
        })
        const error = await rejection(
          builder.build(editedWhileBuilding(context, path.join(dir, 'app.js')), options, new AbortController().signal),
        )
        context.release()
        expect(isContextChanged(error), error.message).to.equal(true)
        expect(await imageExists(ref)).to.equal(false)
        // The image BuildKit made before the check refused it goes too: nothing untagged carries its digest.
        const stdout = await docker([
          'image',
          'ls',
          '--quiet',
          '--filter',
          `label=${DIGEST_LABEL}=${options.labels[DIGEST_LABEL]}`,
        ])
        expect(stdout.trim()).to.equal('')
      })
    }

    it('says "no such image" as undefined, and saves an image as a docker save tar', async () => {
      const {context, options, ref} = await project({Dockerfile: 'FROM scratch\nCOPY a.txt /\n', 'a.txt': 'a\n'})
      expect(await builder.inspect(ref)).to.equal(undefined)
      await builder.build(context, options, new AbortController().signal)
      const listing = await execa('tar', ['-t'], {input: await buffer(await builder.save(ref))})
      expect(String(listing.stdout).split('\n')).to.include('manifest.json')
    })

    it('fails the save stream for an image that does not exist', async () => {
      const error = await rejection(text(await builder.save(`${uniqueName('kudev-it-absent')}:none`)))
      expect(error.code).to.equal('engine')
      expect(error.details.join('\n')).to.match(/reference does not exist|No such image/i)
    })
  })
}
