/**
 * The real Docker engine these tests rely on: it answers, the offline busybox base can be made and run,
 * and examples/hello builds with both the classic builder and BuildKit with no registry reachable.
 * Locally skipped when no engine answers; in CI a missing engine fails (see test/support/docker.ts).
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {docker, dockerCli, isCI, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
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
    it('works with the classic builder (FROM scratch)', async () => {
      const tag = cleanup.image(`kudev-example/hello:${uniqueName('it-classic')}`)
      await docker(['build', '-t', tag, helloDir], {env: {DOCKER_BUILDKIT: '0'}})
      const files = await imageFiles(tag, cleanup)
      expect(files).to.include.members(['www/index.html', 'www/style.css'])
      expect(files.some((f) => f.includes('Dockerfile') || f.includes('.kudev.yaml'))).to.equal(false)
    })

    it('works with BuildKit (FROM scratch, --network none)', async function () {
      if (!existsSync(buildkitCli)) {
        if (isCI()) throw new Error(`${buildkitCli} (Debian's docker.io CLI, for BuildKit) is required in CI`)
        this.skip()
      }

      const tag = cleanup.image(`kudev-example/hello:${uniqueName('it-buildkit')}`)
      await docker(['build', '--network', 'none', '-t', tag, helloDir], {
        cli: buildkitCli,
        env: {DOCKER_BUILDKIT: '1'},
      })
      const files = await imageFiles(tag, cleanup)
      expect(files).to.include.members(['www/index.html', 'www/style.css'])
    })

    it('builds a runnable image on the busybox base, with both builders', async () => {
      await ensureBusyboxBase()
      const builders: Array<{name: string; cli: string; args: string[]; env: Record<string, string>}> = [
        {name: 'classic', cli: dockerCli(), args: [], env: {DOCKER_BUILDKIT: '0'}},
      ]
      if (existsSync(buildkitCli) || isCI()) {
        builders.push({name: 'buildkit', cli: buildkitCli, args: ['--network', 'none'], env: {DOCKER_BUILDKIT: '1'}})
      }

      for (const builder of builders) {
        const tag = cleanup.image(`kudev-example/hello:${uniqueName(`it-busybox-${builder.name}`)}`)
        await docker(['build', ...builder.args, '--build-arg', `BASE=${BUSYBOX_BASE}`, '-t', tag, helloDir], {
          cli: builder.cli,
          env: builder.env,
        })
        const page = await docker(['run', '--rm', '--network', 'none', tag, 'cat', '/www/index.html'])
        expect(page, builder.name).to.include('hello from kudev')
        const env = await docker(['run', '--rm', '--network', 'none', tag, 'env'])
        expect(env, builder.name).to.include('GREETING=hello from kudev')
      }
    })
  })
})
