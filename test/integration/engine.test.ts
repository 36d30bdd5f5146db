/**
 * The real Docker engine these tests rely on: it answers, the offline busybox base can be made and run,
 * and examples/hello builds with both the classic builder and BuildKit with no registry reachable, on that
 * base by default (kudev builds it, and the image serves its page) or FROM scratch (--build-arg BASE=scratch).
 * Locally skipped when no engine answers; in CI a missing engine fails (see test/support/docker.ts).
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {runCli} from '../support/cli.js'
import {docker, dockerCli, dockerResult, isCI, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {BUSYBOX_BASE, ensureBusyboxBase} from '../support/images.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const helloDir = path.join(repoRoot, 'examples', 'hello')
/** Debian's docker.io CLI 20.10, which runs BuildKit without buildx. */
const buildkitCli = process.env.KUDEV_TEST_DOCKER_BUILDKIT || '/usr/bin/docker'

/** Paths inside an image, via `docker create` + `docker export | tar -t` (works for FROM scratch). */
async function imageFiles(image: string, cleanup: ReturnType<typeof suiteCleanup>): Promise<string[]> {
  const container = cleanup.container(uniqueName('kudev-it-files'))
  await docker(['create', '--name', container, '--network', 'none', image])
  const listing = await execa(dockerCli(), ['export', container], {timeout: 60_000}).pipe('tar', ['-t'], {
    timeout: 60_000,
  })
  await docker(['rm', '-f', container])
  return String(listing.stdout)
    .split('\n')
    .map((line) => line.replace(/^\.?\//, ''))
    .filter((line) => line !== '')
}

describe('Docker engine (integration)', function () {
  this.timeout(120_000)
  const cleanup = suiteCleanup()

  before(async function () {
    await requireDocker(this)
  })

  it('answers with a server version', async () => {
    const version = await docker(['version', '--format', '{{.Server.Version}}'])
    expect(version.trim()).to.match(/^\d+\.\d+/)
  })

  it(`makes ${BUSYBOX_BASE} offline and runs it`, async () => {
    const image = await ensureBusyboxBase()
    expect(image).to.equal(BUSYBOX_BASE)
    expect(await ensureBusyboxBase()).to.equal(BUSYBOX_BASE) // idempotent
    const out = await docker(['run', '--rm', '--network', 'none', image, 'busybox', 'echo', 'ok'])
    expect(out.trim()).to.equal('ok')
    const sh = await docker(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo $PATH; ls /bin'])
    expect(sh).to.include('/bin')
    for (const applet of ['sh', 'cat', 'sleep', 'env']) expect(sh.split('\n')).to.include(applet)
  })

  describe('building examples/hello', () => {
    it('works with the classic builder (BASE=scratch: the files alone)', async () => {
      const tag = cleanup.image(`kudev-example/hello:${uniqueName('it-classic')}`)
      await docker(['build', '--build-arg', 'BASE=scratch', '-t', tag, helloDir], {env: {DOCKER_BUILDKIT: '0'}})
      const files = await imageFiles(tag, cleanup)
      expect(files).to.include.members(['www/index.html', 'www/style.css'])
      expect(files.some((f) => f.includes('Dockerfile') || f.includes('.kudev.yaml'))).to.equal(false)
    })

    it('works with BuildKit (BASE=scratch, --network none)', async function () {
      if (!existsSync(buildkitCli)) {
        if (isCI()) throw new Error(`${buildkitCli} (Debian's docker.io CLI, for BuildKit) is required in CI`)
        this.skip()
      }

      const tag = cleanup.image(`kudev-example/hello:${uniqueName('it-buildkit')}`)
      await docker(['build', '--network', 'none', '--build-arg', 'BASE=scratch', '-t', tag, helloDir], {
        cli: buildkitCli,
        env: {DOCKER_BUILDKIT: '1'},
      })
      const files = await imageFiles(tag, cleanup)
      expect(files).to.include.members(['www/index.html', 'www/style.css'])
    })

    it('builds a runnable image on the busybox base by default, with both builders', async () => {
      await ensureBusyboxBase()
      const builders: Array<{name: string; cli: string; args: string[]; env: Record<string, string>}> = [
        {name: 'classic', cli: dockerCli(), args: [], env: {DOCKER_BUILDKIT: '0'}},
      ]
      if (existsSync(buildkitCli) || isCI()) {
        builders.push({name: 'buildkit', cli: buildkitCli, args: ['--network', 'none'], env: {DOCKER_BUILDKIT: '1'}})
      }

      for (const builder of builders) {
        const tag = cleanup.image(`kudev-example/hello:${uniqueName(`it-busybox-${builder.name}`)}`)
        await docker(['build', ...builder.args, '-t', tag, helloDir], {
          cli: builder.cli,
          env: builder.env,
        })
        const page = await docker(['run', '--rm', '--network', 'none', tag, 'cat', '/www/index.html'])
        expect(page, builder.name).to.include('hello from kudev')
        const env = await docker(['run', '--rm', '--network', 'none', tag, 'env'])
        expect(env, builder.name).to.include('GREETING=hello from kudev')
      }
    })

    it('kudev builds it, and the image run as it is serves the page and stops on SIGTERM', async () => {
      await ensureBusyboxBase()
      const built = await runCli(['build', '--json', '-C', helloDir])
      expect(built.exitCode, built.stderr).to.equal(0)
      const {image} = JSON.parse(built.stdout) as {image: string}
      expect(image).to.match(/^kudev-example\/hello:kudev-[0-9a-f]{8}$/)

      // docker run --rm IMAGE, as a user would (detached here, with no network but loopback).
      const name = cleanup.container(uniqueName('kudev-it-hello'))
      await docker(['run', '-d', '--rm', '--name', name, '--network', 'none', image])
      let page = ''
      for (let attempt = 0; attempt < 50 && page === ''; attempt++) {
        const fetched = await dockerResult(['exec', name, 'busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'])
        if (fetched.failed) await new Promise((resolve) => setTimeout(resolve, 100))
        else page = fetched.stdout
      }

      expect(page).to.include('<h1>hello from kudev</h1>')
      const logs = await dockerResult(['logs', name])
      expect(logs.stdout).to.include('hello from kudev: serving /www on port 8080')
      const started = Date.now()
      await docker(['stop', '--time', '10', name]) // SIGTERM, then SIGKILL after 10 s
      expect(Date.now() - started, 'stopped by SIGTERM, not by the SIGKILL 10 s later').to.be.below(5000)
    })

    it('says how to make the base when FROM cannot find it (classic builder)', async () => {
      const missing = `kudev-test/${uniqueName('no-such-base')}:1`
      const result = await runCli(['build', '-C', helloDir, '--build-arg', `BASE=${missing}`], {
        env: {DOCKER_BUILDKIT: '0'},
      })
      expect(result.exitCode, result.stderr).to.not.equal(0)
      expect(result.stderr).to.match(/docker build failed at step "Step \d+\/\d+ : FROM \$\{BASE\}"/)
      expect(result.stderr).to.include('not pulled: run scripts/quickstart-demo.sh in the kudev repository')
    })
  })
})
