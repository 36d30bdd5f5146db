import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import net from 'node:net'
import {join} from 'node:path'

import type {BuildResult} from '../../src/pipeline/build.js'
import {repoRoot, runCli} from '../support/cli.js'
import {docker, dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {ensureBusyboxBase} from '../support/images.js'
import {processes, waitFor} from '../support/processes.js'

// Every case runs with both builders: the machine's CLI 28 (classic builder, no buildx) and Debian's
// CLI 20.10 with BuildKit, whose RUN steps need --network none here.
const BUILDERS = [
  {env: {}, flags: [] as string[], name: 'classic builder'},
  {env: {DOCKER_BUILDKIT: '1', PATH: `/usr/bin:${process.env.PATH}`}, flags: ['--network', 'none'], name: 'BuildKit'},
]

/** `kudev build --json` prints the BuildResult. */
type BuildJson = BuildResult

for (const builder of BUILDERS) {
  describe(`kudev build with the ${builder.name} (real engine)`, function () {
    this.timeout(180_000)
    const cleanup = suiteCleanup()
    let project: string
    let imageName: string

    before(async function () {
      await requireDocker(this)
      if (builder.name === 'BuildKit') {
        const version = await execa('/usr/bin/docker', ['version', '--format', '{{.Client.Version}}'], {reject: false})
        if (version.exitCode !== 0)
          throw new Error("Debian's docker CLI (/usr/bin/docker, package docker.io) is needed for the BuildKit tests")
      }

      await ensureBusyboxBase()
    })

    beforeEach(async () => {
      project = await cleanup.tempDir('kudev-build-')
      imageName = `kudev-test/${uniqueName('app')}`
      await writeFile(
        join(project, 'Dockerfile'),
        'FROM kudev-test/busybox:1\nARG FLAVOUR=plain\nCOPY . /app/\nRUN echo "$FLAVOUR" > /flavour\n',
      )
      await writeFile(join(project, 'server.sh'), 'echo serving\n')
      await writeFile(
        join(project, '.kudev.yaml'),
        `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}}\n`,
      )
    })

    afterEach(async () => {
      const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', imageName])
      for (const ref of stdout.split('\n').filter(Boolean)) cleanup.image(ref)
    })

    async function build(...args: string[]): Promise<BuildJson & {exitCode: number; stderr: string}> {
      const result = await runCli(['build', '--json', ...builder.flags, ...args], {cwd: project, env: builder.env})
      expect(result.exitCode, result.stderr || result.stdout).to.equal(0)
      return {...(JSON.parse(result.stdout) as BuildJson), exitCode: result.exitCode, stderr: result.stderr}
    }

    if (builder.name === 'classic builder')
      it('on a terminal, the live line says how much of the build context is sent, of about how much', async () => {
        // A sparse file: 300 MiB (315 MB) to send, which takes long enough for the line to be drawn, and no disk used.
        await execa('truncate', ['-s', '300M', join(project, 'big.bin')])
        const command = `stty cols 200; ${process.execPath} ${join(repoRoot, 'bin', 'run.js')} build`
        const run = await execa('script', ['-qec', command, '/dev/null'], {
          cwd: project,
          env: builder.env,
          reject: false,
        })
        expect(run.exitCode, run.stdout).to.equal(0)
        // eslint-disable-next-line no-control-regex
        const screen = run.stdout.replaceAll(/\u001B\[[0-9;]*[A-Za-z]/g, '')
        expect(screen).to.match(/sending the build context: \d+ MB of 315 MB/)
      })

    it('builds, labels the image with the full digest, and skips the second build', async () => {
      const first = await build()
      expect(first.built).to.equal(true)
      expect(first.tag).to.match(/^kudev-[0-9a-f]{8}$/)
      expect(first.digest.startsWith(first.tag.slice('kudev-'.length))).to.equal(true)
      expect(first.image).to.equal(`${imageName}:${first.tag}`)
      const label = await docker([
        'image',
        'inspect',
        '--format',
        '{{index .Config.Labels "dev.kudev.digest"}} {{.Id}}',
        first.image,
      ])
      expect(label.trim()).to.equal(`${first.digest} ${first.id}`)

      const second = await build()
      expect(second).to.deep.include({built: false, digest: first.digest, id: first.id, image: first.image})
      expect(second.stderr).to.include('is up to date')
    })

    it('gives a new tag and a new build for a content change, a build-arg change and chmod +x', async () => {
      const base = await build()
      await writeFile(join(project, 'server.sh'), 'echo serving v2\n')
      const content = await build()
      await build('--build-arg', 'FLAVOUR=spicy').then(async (flavoured) => {
        expect(flavoured.built).to.equal(true)
        expect(flavoured.tag).to.not.equal(content.tag)
        const {stdout} = await execa('docker', ['run', '--rm', '--network', 'none', flavoured.image, 'cat', '/flavour'])
        expect(stdout).to.equal('spicy')
      })
      await chmod(join(project, 'server.sh'), 0o755)
      const executable = await build()
      const tags = new Set([base.tag, content.tag, executable.tag])
      expect(tags.size).to.equal(3)
      expect(content.built && executable.built).to.equal(true)
    })

    it('still builds with --force-build, and tags kudev-<hash>-<UTC time> with --build-timestamp', async () => {
      const first = await build()
      const forced = await build('--force-build')
      expect(forced.built).to.equal(true)
      const stamped = await build('--build-timestamp')
      expect(stamped.tag).to.match(new RegExp(`^${first.tag}-\\d{8}-\\d{6}$`))
      expect(stamped.built).to.equal(true)
    })

    it('reports a failing step with exit code 6 and leaves no tag', async () => {
      await writeFile(join(project, 'Dockerfile'), 'FROM kudev-test/busybox:1\nRUN echo "no such thing" >&2; exit 3\n')
      const result = await runCli(['build', ...builder.flags], {cwd: project, env: builder.env})
      expect(result.exitCode).to.equal(6)
      expect(result.stderr).to.match(/Error: docker build failed at step .*RUN echo "no such thing"/)
      expect(result.stderr).to.include('no such thing')
      const {stdout} = await dockerResult(['image', 'ls', '--quiet', imageName])
      expect(stdout.trim()).to.equal('')
    })

    it('says the daemon is not reachable when DOCKER_HOST points at a dead socket (exit 5)', async () => {
      const result = await runCli(['build', ...builder.flags], {
        cwd: project,
        env: {...builder.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock'},
      })
      expect(result.exitCode).to.equal(5)
      expect(result.stderr).to.include('Docker daemon not reachable at unix:///nonexistent/docker.sock')
    })

    it('stops on SIGINT during a slow RUN step: exit 130, no tag, no docker build process left', async () => {
      await writeFile(join(project, 'Dockerfile'), `FROM kudev-test/busybox:1\nRUN sleep 60 # ${imageName}\n`)
      const child = execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'build', '-v', ...builder.flags], {
        cwd: project,
        env: {...builder.env, NO_COLOR: '1'},
        reject: false,
      })
      let output = ''
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
      })
      await waitFor(() => /sleep 60/.test(output), 60_000)
      await new Promise((resolve) => setTimeout(resolve, 1500))
      child.kill('SIGINT')
      const result = await child
      expect(result.exitCode, output).to.equal(130)
      expect(output).to.include('interrupted by SIGINT')
      const {stdout} = await dockerResult(['image', 'ls', '--quiet', imageName])
      expect(stdout.trim()).to.equal('')
      const processes = await execa('pgrep', ['-af', 'docker build'], {reject: false})
      expect(processes.stdout).to.not.include(imageName.split('/')[1]!)
    })

    it('stops on SIGINT at once while the engine does not answer: exit 130, no docker process left', async () => {
      const sockets: net.Socket[] = []
      const silent = net.createServer((socket) => sockets.push(socket))
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      const host = `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
      try {
        const child = execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'build', ...builder.flags], {
          cwd: project,
          env: {...builder.env, DOCKER_HOST: host, NO_COLOR: '1'},
          reject: false,
        })
        // `docker version` is waiting on the silent engine (kudev would give it 20 s).
        await waitFor(() => sockets.length > 0, 30_000)
        const interrupted = Date.now()
        child.kill('SIGINT')
        const result = await child
        expect(result.exitCode, result.stderr).to.equal(130)
        expect(Date.now() - interrupted, 'not held up by the engine check').to.be.below(3000)
        expect(result.stderr).to.include('interrupted by SIGINT')
        expect(await processes('docker version --format')).to.deep.equal([])
      } finally {
        for (const socket of sockets) socket.destroy()
        silent.close()
      }
    })

    it('builds with a Dockerfile outside the context folder, as docker build -f does', async () => {
      await mkdir(join(project, 'src'))
      await writeFile(join(project, 'src', 'main.sh'), 'echo main\n')
      await writeFile(
        join(project, '.kudev.yaml'),
        `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}, buildContext: src, dockerfilePath: ./Dockerfile}\n`,
      )
      const result = await build()
      expect(result.built).to.equal(true)
      const {stdout} = await execa('docker', ['run', '--rm', '--network', 'none', result.image, 'cat', '/app/main.sh'])
      expect(stdout).to.equal('echo main')
    })
  })
}
