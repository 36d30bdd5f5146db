import {expect} from 'chai'
import {type BuildContext, type BuildOptions, DIGEST_LABEL, type FolderContext, KudevError} from 'kudev'
import {type Answer, type Answerer, type FakeToolkit, fakeToolkit, realToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {buffer, text} from 'node:stream/consumers'

import {PodmanBuilder} from '../src/builder.js'
import {IGNORE_NOTHING, INSTALL_HINT} from '../src/command.js'
import {BuildOutput} from '../src/output.js'

const DIGEST = 'cd'.repeat(32)
const ID = 'ef'.repeat(32)
const NAME = 'docker.io/library/shop:kudev-cdcdcdcd'

// Texts printed by podman 4.3.1 (Debian 12).
const RUN_FAILED = [
  'STEP 1/2: FROM kudev-test/busybox:1',
  'STEP 2/2: RUN echo hi && exit 3',
  'hi',
  'Error: building at STEP "RUN echo hi && exit 3": while running runtime: exit status 3',
]
const NO_DOCKERFILE = ['Error: stat /var/tmp/buildah306739982/Nope: no such file or directory']
const NOT_KNOWN = 'Error: inspecting object: docker.io/library/shop:none: image not known\n'

const FOLDER = {
  dockerfile: '/cache/context/0f0f/dockerfile/Dockerfile',
  root: '/cache/context/0f0f/files',
}

interface TestContext extends BuildContext {
  destroyed: () => boolean
  /** How often tar() was called. */
  tars: () => number
}

/** A context whose folder() answers undefined (another kudev run holds it), or `folder` when given. */
function context(folder?: FolderContext, tar = 'the context tar'): TestContext {
  let stream: Readable | undefined
  let tars = 0
  return {
    destroyed: () => stream?.destroyed === true,
    digest: DIGEST,
    dockerfile: 'Dockerfile',
    folder: async () => folder,
    hiddenInTar: [],
    root: '/src/shop',
    tar() {
      tars += 1
      stream = Readable.from([tar])
      return stream
    },
    tars: () => tars,
  }
}

/** A folder whose verify() records that it ran, and fails with `fails` when given. */
function folderContext(fails?: Error): FolderContext & {verified: () => number} {
  let verified = 0
  return {
    ...FOLDER,
    async verify() {
      verified += 1
      if (fails) throw fails
    },
    verified: () => verified,
  }
}

function options(lines: string[] = []): BuildOptions {
  return {
    buildArgs: {},
    dockerfile: '/src/shop/Dockerfile',
    imageName: 'shop',
    labels: {[DIGEST_LABEL]: DIGEST},
    onOutput: (line) => lines.push(line),
    source: '/src/shop',
    tag: 'kudev-cdcdcdcd',
  }
}

/** Answers `podman build` as a successful build would: reads the tar (if any), writes the iidfile, prints the steps. */
function builds(received: string[] = []): Answerer {
  return async (command, exec) => {
    if (exec.input) received.push(await text(exec.input as Readable))
    await writeFile(command[command.indexOf('--iidfile') + 1]!, `sha256:${ID}`)
    return {stdout: ['STEP 1/2: FROM scratch', 'STEP 2/2: COPY . /', `COMMIT ${NAME}`, ID].join('\n')}
  }
}

/** An image as `podman image inspect` prints it: the bare ID. */
interface Stored {
  id: string
  labels: Record<string, string>
}

const OLD_ID = '0a'.repeat(32)
const GOOD: Stored = {id: OLD_ID, labels: {[DIGEST_LABEL]: DIGEST}}

/**
 * Podman as a build meets it: the tag names `before` until `podman build` ran and `after` from then on
 * (no image when undefined); `build` answers the build itself, `tag`, `untag` and `rm` the other commands.
 */
function podmanAnswers(answers: {
  before?: Stored
  after?: Stored
  build?: Answerer
  tag?: Answer
  untag?: Answer
  rm?: Answer
  /** `podman images` of untagged images with the build's labels (none by default). */
  untagged?: Answer
}): Answerer {
  let built = false
  return async (command, exec) => {
    const [, sub, question] = command
    const stored = built ? answers.after : answers.before
    if (sub === 'image' && question === 'exists') return {exitCode: stored ? 0 : 1}
    if (sub === 'image' && question === 'inspect')
      return {stdout: JSON.stringify([{Id: stored!.id, Labels: stored!.labels}])}
    if (sub === 'build') {
      built = true
      return (answers.build ?? builds())(command, exec)
    }

    if (sub === 'tag') return answers.tag ?? {}
    if (sub === 'untag') return answers.untag ?? {}
    if (sub === 'rm') return answers.rm ?? {}
    if (sub === 'images') return answers.untagged ?? {}
    if (sub === 'rmi') return {}
    return undefined
  }
}

/** The calls about the tag: every call but the look for untagged images that follows them. */
function tagWork(toolkit: FakeToolkit): string[][] {
  return argsOf(toolkit).filter((args) => args[0] !== 'images')
}

/** The arguments of each command a toolkit ran. */
function argsOf(toolkit: FakeToolkit): string[][] {
  return toolkit.calls.map((call) => call.args)
}

describe('podman builder', () => {
  const signal = new AbortController().signal

  describe('build from the folder', () => {
    it('builds the folder untagged, ignoring nothing; verifies, then tags the ID from the iidfile', async () => {
      let ignored = ''
      const toolkit = fakeToolkit(
        podmanAnswers({
          async build(command, exec) {
            ignored = await readFile(command[command.indexOf('--ignorefile') + 1]!, 'utf8')
            return builds()(command, exec)
          },
        }),
      )
      const lines: string[] = []
      const folder = folderContext()
      const ctx = context(folder)
      const image = await new PodmanBuilder(toolkit).build(ctx, options(lines), signal)
      expect(image).to.deep.equal({id: `sha256:${ID}`, ref: 'shop:kudev-cdcdcdcd'})
      expect(ctx.tars()).to.equal(0)
      expect(folder.verified()).to.equal(1)
      expect(lines).to.deep.equal(['STEP 1/2: FROM scratch', 'STEP 2/2: COPY . /', `COMMIT ${NAME}`, ID])
      const [exists, build, tag] = toolkit.calls
      expect(exists!.args).to.deep.equal(['image', 'exists', NAME])
      const iidfile = build!.args[build!.args.indexOf('--iidfile') + 1]!
      const scratch = path.dirname(iidfile)
      expect(build!.args).to.deep.equal([
        'build',
        '--format',
        'docker',
        '-f',
        FOLDER.dockerfile,
        '--ignorefile',
        path.join(scratch, 'ignore'),
        '--iidfile',
        iidfile,
        '--label',
        `${DIGEST_LABEL}=${DIGEST}`,
        FOLDER.root,
      ])
      expect(build!.options.input).to.equal(undefined)
      expect(build!.options.env).to.deep.equal({TMPDIR: scratch})
      expect(ignored).to.equal(IGNORE_NOTHING)
      expect(tag!.args).to.deep.equal(['tag', `sha256:${ID}`, NAME])
      expect(tag!.options.signal).to.equal(signal)
      expect(toolkit.calls).to.have.length(3)
      expect(existsSync(scratch)).to.equal(false)
      expect(toolkit.logs.debug).to.deep.equal([
        `build context: the folder ${FOLDER.root} (podman reads it in place instead of unpacking a tar of it first)`,
      ])
    })

    it('tags nothing when the context changed during the build, and rethrows that error', async () => {
      const changed = new KudevError('build', 'app.js changed while it was being sent to the builder', {
        data: {changed: 'app.js'},
      })
      const toolkit = fakeToolkit(podmanAnswers({}))
      const error = await rejection(
        new PodmanBuilder(toolkit).build(context(folderContext(changed)), options(), signal),
      )
      expect(error).to.equal(changed)
      // No tag: the image is asked about, then untagged images with the build's labels looked for.
      expect(argsOf(toolkit).map((args) => args[0])).to.deep.equal(['image', 'build', 'image', 'images'])
    })

    it('does not verify or tag after a failed build', async () => {
      const folder = folderContext()
      const toolkit = fakeToolkit(podmanAnswers({build: () => ({exitCode: 3, stdout: RUN_FAILED.join('\n')})}))
      const error = await rejection(new PodmanBuilder(toolkit).build(context(folder), options(), signal))
      expect(error.code).to.equal('build')
      expect(folder.verified()).to.equal(0)
      expect(argsOf(toolkit).some((args) => args[0] === 'tag')).to.equal(false)
    })

    it("fails as an engine error with podman's reason when the tag cannot be applied", async () => {
      const toolkit = fakeToolkit(
        podmanAnswers({tag: {exitCode: 125, stderr: 'Error: tag docker.io/library/shop:x: disk full\n'}}),
      )
      const error = await rejection(new PodmanBuilder(toolkit).build(context(folderContext()), options(), signal))
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal(
        'could not tag the image shop:kudev-cdcdcdcd: tag docker.io/library/shop:x: disk full',
      )
    })

    it('is interrupted before building when stopped while the folder syncs', async () => {
      const controller = new AbortController()
      const ctx = context()
      ctx.folder = async () => {
        controller.abort()
        return folderContext()
      }

      const toolkit = fakeToolkit(podmanAnswers({}))
      const error = await rejection(new PodmanBuilder(toolkit).build(ctx, options(), controller.signal))
      expect(error.code).to.equal('interrupted')
      expect(argsOf(toolkit)).to.deep.equal([['image', 'exists', NAME]])
    })
  })

  describe('build from a tar (the folder is in use by another kudev run)', () => {
    it('sends the context tar on stdin, tagged by podman, and answers the ID from the iidfile, showing every line', async () => {
      const received: string[] = []
      const toolkit = fakeToolkit(podmanAnswers({build: builds(received)}))
      const lines: string[] = []
      const ctx = context()
      const image = await new PodmanBuilder(toolkit).build(ctx, options(lines), signal)
      expect(image).to.deep.equal({id: `sha256:${ID}`, ref: 'shop:kudev-cdcdcdcd'})
      expect(received).to.deep.equal(['the context tar'])
      expect(lines).to.deep.equal(['STEP 1/2: FROM scratch', 'STEP 2/2: COPY . /', `COMMIT ${NAME}`, ID])
      expect(argsOf(toolkit).map((args) => args[0])).to.deep.equal(['image', 'build'])
      const call = toolkit.calls[1]!
      expect(call.args.slice(0, 5)).to.deep.equal(['build', '--format', 'docker', '-f', 'Dockerfile'])
      expect(call.args.slice(7, 9)).to.deep.equal(['-t', NAME])
      expect(call.args.at(-1)).to.equal('-')
      // kudev's ignore file: the tar carries nothing for podman alone here, so it excludes nothing.
      expect(call.args[5]).to.equal('--ignorefile')
      expect(call.options).to.include({allowFailure: true, errorCode: 'engine', notFoundHint: INSTALL_HINT})
      expect(ctx.destroyed()).to.equal(true)
      // Podman's temporary files go in the iidfile's folder, which is gone once the build is over.
      const scratch = path.dirname(call.args[call.args.indexOf('--iidfile') + 1]!)
      expect(call.options.env).to.deep.equal({TMPDIR: scratch})
      expect(existsSync(scratch)).to.equal(false)
      expect(toolkit.logs.debug).to.deep.equal([
        'build context: a tar on stdin (its folder is in use by another kudev run)',
      ])
    })

    it("names the failing step and podman's reason, with its last lines, as a build error", async () => {
      const toolkit = fakeToolkit(podmanAnswers({build: () => ({exitCode: 3, stdout: RUN_FAILED.join('\n')})}))
      const error = await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(error).to.be.instanceOf(KudevError)
      expect(error.code).to.equal('build')
      expect(error.exitCode).to.equal(6)
      expect(error.message).to.equal(
        'podman build failed at step "RUN echo hi && exit 3": while running runtime: exit status 3',
      )
      expect(error.details).to.deep.equal(RUN_FAILED)
      expect(error.hint).to.match(/^fix that step; /)
      expect(error.data).to.deep.equal({exitCode: 3, step: 'RUN echo hi && exit 3'})
    })

    it("gives podman's reason when it fails before any step", async () => {
      const toolkit = fakeToolkit(podmanAnswers({build: () => ({exitCode: 125, stderr: NO_DOCKERFILE.join('\n')})}))
      const error = await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(error.message).to.equal(
        'podman build failed: stat /var/tmp/buildah306739982/Nope: no such file or directory',
      )
      expect(error.hint).to.not.include('fix that step')
    })

    it('names the step podman was on and its exit code when it dies without a reason', async () => {
      const toolkit = fakeToolkit(
        podmanAnswers({build: () => ({exitCode: 137, stdout: 'STEP 1/2: FROM scratch\nSTEP 2/2: COPY big /'})}),
      )
      const error = await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(error.message).to.equal('podman build failed at step "COPY big /" with exit code 137')
    })
  })

  describe('leaves no tag naming other content after a failed or stopped build', () => {
    const failing = () => ({exitCode: 143, stdout: 'STEP 2/2: RUN sleep 30'})

    it('does nothing more about the tag when it names no image', async () => {
      const toolkit = fakeToolkit(podmanAnswers({build: failing}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(tagWork(toolkit)).to.deep.equal([
        ['image', 'exists', NAME],
        toolkit.calls[1]!.args,
        ['image', 'exists', NAME],
      ])
    })

    it('leaves a previous image of this digest alone', async () => {
      const toolkit = fakeToolkit(podmanAnswers({after: GOOD, before: GOOD, build: failing}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(tagWork(toolkit).at(-1)).to.deep.equal(['image', 'inspect', NAME])
    })

    it('removes a tag the stopped build applied', async () => {
      const toolkit = fakeToolkit(podmanAnswers({after: {...GOOD, id: ID}, build: failing}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(tagWork(toolkit).at(-1)).to.deep.equal(['untag', NAME, NAME])
    })

    it("removes untagged images carrying the build's labels, looked up by those labels", async () => {
      const toolkit = fakeToolkit(podmanAnswers({build: failing, untagged: {stdout: `sha256:${ID}\n`}}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(argsOf(toolkit).slice(-2)).to.deep.equal([
        ['images', '--quiet', '--no-trunc', '--filter', 'dangling=true', '--filter', `label=${DIGEST_LABEL}=${DIGEST}`],
        ['rmi', `sha256:${ID}`],
      ])
    })

    it('puts the tag back on the previous image of this digest when the stopped build moved it', async () => {
      const toolkit = fakeToolkit(podmanAnswers({after: {...GOOD, id: ID}, before: GOOD, build: failing}))
      await rejection(new PodmanBuilder(toolkit).build(context(folderContext()), options(), signal))
      expect(tagWork(toolkit).at(-1)).to.deep.equal(['tag', `sha256:${OLD_ID}`, NAME])
    })

    it('removes a tag that names an image of another digest', async () => {
      const other = {id: OLD_ID, labels: {[DIGEST_LABEL]: 'f'.repeat(64)}}
      const toolkit = fakeToolkit(podmanAnswers({after: other, before: other, build: failing}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(tagWork(toolkit).at(-1)).to.deep.equal(['untag', NAME, NAME])
    })

    it('warns, and still reports the build failure, when the tag cannot be removed', async () => {
      const toolkit = fakeToolkit(
        podmanAnswers({
          after: {id: ID, labels: {}},
          build: failing,
          untag: {exitCode: 125, stderr: 'Error: image is in use\n'},
        }),
      )
      const error = await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(error.code).to.equal('build')
      expect(toolkit.logs.warn).to.deep.equal(['could not remove the tag shop:kudev-cdcdcdcd: image is in use'])
    })
  })

  describe('after a stopped build', () => {
    const CONTAINER = 'bf'.repeat(32)

    /** Answers `podman build` as a podman killed during a RUN step: its step bundle stays in TMPDIR. */
    function stopsDuringRun(rm: Answer): Answerer {
      return podmanAnswers({
        async build(_command, exec) {
          const bundle = path.join(exec.env!.TMPDIR!, 'buildah1934765835')
          await mkdir(path.join(bundle, 'run'), {recursive: true})
          await writeFile(
            path.join(bundle, 'run', '.containerenv'),
            `engine="buildah-1.28.2"\nname="busybox-working-container"\nid="${CONTAINER}"\n`,
          )
          // This test's own process: not in the bundle's cgroup, so it must not be signalled.
          await writeFile(path.join(bundle, 'pid'), String(process.pid))
          await mkdir(path.join(exec.env!.TMPDIR!, 'buildah3713858577'))
          return {exitCode: 143, stdout: 'STEP 2/2: RUN sleep 30'}
        },
        rm,
      })
    }

    it('removes the working container podman left, named in the step bundle it left in TMPDIR', async () => {
      const toolkit = fakeToolkit(stopsDuringRun({}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(argsOf(toolkit).filter((args) => args[0] === 'rm')).to.deep.equal([['rm', '--force', CONTAINER]])
      expect(toolkit.logs.warn).to.deep.equal([])
    })

    it('says how to remove it when podman cannot', async () => {
      const toolkit = fakeToolkit(stopsDuringRun({exitCode: 125, stderr: 'Error: container is in use\n'}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), signal))
      expect(toolkit.logs.warn).to.deep.equal([
        'podman left the working container bfbfbfbfbfbf of the stopped build, and could not remove it: container is in use; podman rm --force bfbfbfbfbfbf removes it',
      ])
    })
  })

  describe('build output', () => {
    it('keeps the last 15 lines, without blank ones', () => {
      const output = new BuildOutput()
      for (let i = 1; i <= 20; i++) output.add(`line ${i}`)
      output.add('   ')
      expect(output.tail).to.have.length(15)
      expect(output.tail[0]).to.equal('line 6')
      expect(output.failure()).to.deep.equal({step: undefined})
    })

    it('prefers the step podman names in its error to the first error line', () => {
      const output = new BuildOutput()
      for (const line of [
        'Error: something first',
        'STEP 1/1: RUN x',
        'Error: building at STEP "RUN x": exit status 1',
      ])
        output.add(line)
      expect(output.failure()).to.deep.equal({reason: 'exit status 1', step: 'RUN x'})
    })
  })

  describe('inspect', () => {
    it('answers undefined when podman has no such image, asking only `podman image exists`', async () => {
      const toolkit = fakeToolkit(() => ({exitCode: 1}))
      expect(await new PodmanBuilder(toolkit).inspect('shop:kudev-cdcdcdcd')).to.equal(undefined)
      expect(toolkit.calls.map((call) => call.args)).to.deep.equal([['image', 'exists', NAME]])
    })

    it('reads the ID (as sha256:…) and the labels of an image podman has', async () => {
      const toolkit = fakeToolkit(([, , question]) =>
        question === 'exists'
          ? {}
          : {stdout: JSON.stringify([{Id: ID, Labels: {'dev.kudev.digest': DIGEST}}], null, 5)},
      )
      expect(await new PodmanBuilder(toolkit).inspect('shop:kudev-cdcdcdcd')).to.deep.equal({
        id: `sha256:${ID}`,
        labels: {'dev.kudev.digest': DIGEST},
      })
      expect(toolkit.calls.map((call) => call.args)).to.deep.equal([
        ['image', 'exists', NAME],
        ['image', 'inspect', NAME],
      ])
    })

    it('reads an image without labels as one with none', async () => {
      const toolkit = fakeToolkit(([, , question]) =>
        question === 'exists' ? {} : {stdout: JSON.stringify([{Id: ID, Labels: null}])},
      )
      expect(await new PodmanBuilder(toolkit).inspect('shop:kudev-cdcdcdcd')).to.deep.equal({
        id: `sha256:${ID}`,
        labels: {},
      })
    })

    it("fails as an engine error with podman's own last line when podman itself fails", async () => {
      const stderr =
        'time="x" level=warning msg="some warning"\nError: database configuration mismatch: /var/lib/containers/storage\n'
      const error = await rejection(
        new PodmanBuilder(fakeToolkit(() => ({exitCode: 125, stderr}))).inspect('shop:kudev-cdcdcdcd'),
      )
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal(
        'could not ask podman for shop:kudev-cdcdcdcd: database configuration mismatch: /var/lib/containers/storage',
      )
      expect(error.details).to.deep.equal(['time="x" level=warning msg="some warning"'])
      expect(error.hint).to.include('podman info')
    })

    it('fails when the image goes away between the two questions', async () => {
      const toolkit = fakeToolkit(([, , question]) =>
        question === 'exists' ? {} : {exitCode: 125, stderr: NOT_KNOWN, stdout: '[]'},
      )
      const error = await rejection(new PodmanBuilder(toolkit).inspect('shop:kudev-cdcdcdcd'))
      expect(error.message).to.equal(
        'could not inspect shop:kudev-cdcdcdcd: inspecting object: docker.io/library/shop:none: image not known',
      )
    })

    it('says which command failed when podman prints no reason', async () => {
      const error = await rejection(
        new PodmanBuilder(fakeToolkit(() => ({exitCode: 2}))).inspect('shop:kudev-cdcdcdcd'),
      )
      expect(error.message).to.equal(
        `could not ask podman for shop:kudev-cdcdcdcd: podman image exists ${NAME} exited with code 2`,
      )
    })
  })

  describe('save', () => {
    it('streams `podman save --format docker-archive` of the qualified name, ending once podman exited 0', async () => {
      let exit!: () => void
      const exited = new Promise<void>((resolve) => {
        exit = resolve
      })
      const toolkit = fakeToolkit(() => ({exited, stdout: 'tar bytes'}))
      const archive = await new PodmanBuilder(toolkit).save('shop:kudev-cdcdcdcd')
      expect(toolkit.calls[0]!.args).to.deep.equal(['save', '--format', 'docker-archive', NAME])
      expect(toolkit.calls[0]!.options).to.include({errorCode: 'engine', notFoundHint: INSTALL_HINT})
      const content = buffer(archive)
      let ended = false
      archive.on('end', () => {
        ended = true
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(ended, 'the stream ended before podman exited').to.equal(false)
      exit()
      expect(String(await content)).to.equal('tar bytes')
    })

    it("fails the stream with podman's error when the save fails, even after some bytes", async () => {
      const stderr = 'Error: docker.io/library/shop:none: image not known\n'
      const toolkit = fakeToolkit(() => ({exitCode: 125, stderr, stdout: 'half a tar'}))
      const error = await rejection(buffer(await new PodmanBuilder(toolkit).save('shop:none')))
      expect(error).to.be.instanceOf(KudevError)
      expect(error.code).to.equal('engine')
      expect(error.details).to.deep.equal(['Error: docker.io/library/shop:none: image not known'])
    })
  })

  describe('diagnose', () => {
    it("reports podman's version and store", async () => {
      const toolkit = fakeToolkit(() => ({stdout: '4.3.1\toverlay\t/var/lib/containers/storage\n'}))
      expect(await new PodmanBuilder(toolkit).diagnose()).to.deep.equal([
        {
          name: 'podman',
          ok: true,
          summary:
            'podman 4.3.1, overlay storage at /var/lib/containers/storage; images reach clusters through podman save',
        },
      ])
    })

    it('reports a podman that cannot read its store', async () => {
      const toolkit = fakeToolkit(() => ({
        exitCode: 125,
        stderr: 'Error: cannot setup namespace using newuidmap: exit status 1\n',
      }))
      const [check] = await new PodmanBuilder(toolkit).diagnose()
      expect(check).to.deep.include({
        name: 'podman',
        ok: false,
        summary: 'could not read `podman info`: cannot setup namespace using newuidmap: exit status 1',
      })
      expect(check!.hint).to.include('podman info')
    })
  })

  describe('without podman on PATH (real subprocesses)', () => {
    let emptyBin: string
    let savedPath: string | undefined
    const toolkit = realToolkit()

    before(async () => {
      emptyBin = await mkdtemp(path.join(tmpdir(), 'kudev-no-podman-'))
      savedPath = process.env.PATH
      process.env.PATH = emptyBin
    })
    after(async () => {
      process.env.PATH = savedPath
      await rm(emptyBin, {force: true, recursive: true})
    })

    it('says podman is not installed and how to install it, for a build and an inspect', async () => {
      for (const attempt of [
        () => new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal),
        () => new PodmanBuilder(toolkit).inspect('shop:kudev-cdcdcdcd'),
      ]) {
        const error = await rejection(attempt())
        expect(error.code).to.equal('engine')
        expect(error.message).to.equal('podman is not installed (not found on PATH)')
        expect(error.hint).to.equal(INSTALL_HINT)
      }
    })

    it('shows it in doctor as a failed check with the install hint', async () => {
      expect(await new PodmanBuilder(toolkit).diagnose()).to.deep.equal([
        {hint: INSTALL_HINT, name: 'podman', ok: false, summary: 'podman is not installed (not found on PATH)'},
      ])
    })
  })
})
