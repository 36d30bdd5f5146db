import {expect} from 'chai'
import {type BuildContext, type BuildOptions, KudevError} from 'kudev'
import {type Answer, type Answerer, fakeToolkit, realToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {buffer, text} from 'node:stream/consumers'

import {PodmanBuilder} from '../src/builder.js'
import {INSTALL_HINT} from '../src/command.js'
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

function context(tar = 'the context tar'): BuildContext & {destroyed: () => boolean} {
  let stream: Readable | undefined
  return {
    destroyed: () => stream?.destroyed === true,
    digest: DIGEST,
    dockerfile: 'Dockerfile',
    folder: async () => undefined,
    root: '/src/shop',
    tar() {
      stream = Readable.from([tar])
      return stream
    },
  }
}

function options(lines: string[] = []): BuildOptions {
  return {
    buildArgs: {},
    dockerfile: '/src/shop/Dockerfile',
    imageName: 'shop',
    labels: {},
    onOutput: (line) => lines.push(line),
    source: '/src/shop',
    tag: 'kudev-cdcdcdcd',
  }
}

/** Answers `podman build` as a successful build would: reads the tar, writes the iidfile, prints the steps. */
function builds(received: string[]): Answerer {
  return async (command, exec) => {
    received.push(await text(exec.input as Readable))
    await writeFile(command[command.indexOf('--iidfile') + 1]!, `sha256:${ID}`)
    return {stdout: ['STEP 1/2: FROM scratch', 'STEP 2/2: COPY . /', `COMMIT ${NAME}`, ID].join('\n')}
  }
}

describe('podman builder', () => {
  describe('build', () => {
    it('sends the context tar on stdin and answers the ID from the iidfile, showing every line', async () => {
      const received: string[] = []
      const toolkit = fakeToolkit(builds(received))
      const lines: string[] = []
      const ctx = context()
      const image = await new PodmanBuilder(toolkit).build(ctx, options(lines), new AbortController().signal)
      expect(image).to.deep.equal({id: `sha256:${ID}`, ref: 'shop:kudev-cdcdcdcd'})
      expect(received).to.deep.equal(['the context tar'])
      expect(lines).to.deep.equal(['STEP 1/2: FROM scratch', 'STEP 2/2: COPY . /', `COMMIT ${NAME}`, ID])
      const [call] = toolkit.calls
      expect(call!.args.slice(0, 7)).to.deep.equal(['build', '--format', 'docker', '-f', 'Dockerfile', '-t', NAME])
      expect(call!.options).to.include({allowFailure: true, errorCode: 'engine', notFoundHint: INSTALL_HINT})
      expect(ctx.destroyed()).to.equal(true)
      // Podman's temporary files go in the iidfile's folder, which is gone once the build is over.
      const scratch = path.dirname(call!.args[call!.args.indexOf('--iidfile') + 1]!)
      expect(call!.options.env).to.deep.equal({TMPDIR: scratch})
      expect(existsSync(scratch)).to.equal(false)
    })

    it("names the failing step and podman's reason, with its last lines, as a build error", async () => {
      const toolkit = fakeToolkit(() => ({exitCode: 3, stdout: RUN_FAILED.join('\n')}))
      const error = await rejection(
        new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal),
      )
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
      const toolkit = fakeToolkit(() => ({exitCode: 125, stderr: NO_DOCKERFILE.join('\n')}))
      const error = await rejection(
        new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal),
      )
      expect(error.message).to.equal(
        'podman build failed: stat /var/tmp/buildah306739982/Nope: no such file or directory',
      )
      expect(error.hint).to.not.include('fix that step')
    })

    it('names the step podman was on and its exit code when it dies without a reason', async () => {
      const toolkit = fakeToolkit(() => ({exitCode: 137, stdout: 'STEP 1/2: FROM scratch\nSTEP 2/2: COPY big /'}))
      const error = await rejection(
        new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal),
      )
      expect(error.message).to.equal('podman build failed at step "COPY big /" with exit code 137')
    })
  })

  describe('after a stopped build', () => {
    const CONTAINER = 'bf'.repeat(32)

    /** Answers `podman build` as a podman killed during a RUN step: its step bundle stays in TMPDIR. */
    function stopsDuringRun(rm: Answer): Answerer {
      return async ([, sub], exec) => {
        if (sub === 'rm') return rm
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
      }
    }

    it('removes the working container podman left, named in the step bundle it left in TMPDIR', async () => {
      const toolkit = fakeToolkit(stopsDuringRun({}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal))
      expect(toolkit.calls.map((call) => call.args).slice(1)).to.deep.equal([['rm', '--force', CONTAINER]])
      expect(toolkit.logs.warn).to.deep.equal([])
    })

    it('says how to remove it when podman cannot', async () => {
      const toolkit = fakeToolkit(stopsDuringRun({exitCode: 125, stderr: 'Error: container is in use\n'}))
      await rejection(new PodmanBuilder(toolkit).build(context(), options(), new AbortController().signal))
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
