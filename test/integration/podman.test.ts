/**
 * The third-party plugin story end to end, as a user lives it: `npm pack` plugins/podman, install the
 * tarball into a fresh data folder with the real `kudev plugins install` (a real npm install, offline),
 * build with the real podman, load into a kind-style node (and into the Docker daemon, as Docker Desktop's
 * kubeadm cluster gets it), then uninstall. The steps build on each other and run in order.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {UpResult} from '../../src/pipeline/up.js'
import {fixtures, repoRoot, runCli} from '../support/cli.js'
import {docker, dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {createKindCluster, nodeImageIds, nodeImageRefs, standInEnv, type TestCluster} from '../support/nodes.js'
import {
  danglingPodmanImages,
  podman,
  removeNewDanglingImages,
  removePodmanImage,
  requirePodman,
} from '../support/podman.js'

const PLUGIN = 'kudev-plugin-podman'

/** `kudev up --json` prints the UpResult. */
type UpJson = UpResult

describe('kudev-plugin-podman installed from its packed tarball (real npm, podman, kind-style node)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let cluster: TestCluster
  let dataDir: string
  let env: NodeJS.ProcessEnv
  let imageName: string
  let project: string
  let tarball: string
  const built = new Set<string>()

  before(async function () {
    await requireDocker(this)
    await requirePodman(this)
    if (!existsSync(join(repoRoot, 'plugins', 'podman', 'dist', 'register.js')))
      throw new Error('plugins/podman is not built: run `npm run build` first')
    const danglingBefore = await danglingPodmanImages()
    cleanup.add('step images podman kept as cache', () => removeNewDanglingImages(danglingBefore))

    const packs = await cleanup.tempDir('kudev-podman-pack-')
    const packed = await execa('npm', [
      'pack',
      join(repoRoot, 'plugins', 'podman'),
      '--pack-destination',
      packs,
      '--json',
    ])
    tarball = join(packs, (JSON.parse(packed.stdout) as {filename: string}[])[0]!.filename)

    const name = uniqueName('kpod').replaceAll(/[^a-z0-9-]/g, '')
    cluster = await createKindCluster(name)
    cleanup.add(`kind cluster ${name}`, () => cluster.remove())
    const kubeconfig = join(await cleanup.tempDir('kudev-podman-kube-'), 'config')
    await writeFile(
      kubeconfig,
      (await readFile(join(fixtures, 'kubeconfig', 'kind-dev.yaml'), 'utf8')).replaceAll('kind-dev', `kind-${name}`),
    )

    dataDir = await cleanup.tempDir('kudev-podman-data-')
    env = {
      KUBECONFIG: kubeconfig,
      KUDEV_DATA_DIR: dataDir,
      PATH: standInEnv().PATH,
      // npm installs the tarball without asking any registry; its cache stays with the test.
      npm_config_cache: await cleanup.tempDir('kudev-podman-npm-cache-'),
      npm_config_offline: 'true',
    }

    project = await cleanup.tempDir('kudev-podman-project-')
    imageName = `kudev-test/${uniqueName('podman-app')}`
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n')
    await writeFile(join(project, 'hello.txt'), 'hello from podman\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}}\n`,
    )
  })

  async function up(extra: NodeJS.ProcessEnv = {}): Promise<UpJson> {
    const result = await runCli(['up', '--builder', 'podman', '--json'], {cwd: project, env: {...env, ...extra}})
    expect(result.exitCode, result.stderr || result.stdout).to.equal(0)
    const document = JSON.parse(result.stdout) as UpJson
    if (!built.has(document.image))
      cleanup.add(`podman image ${document.image}`, () => removePodmanImage(`docker.io/${document.image}`))
    built.add(document.image)
    return document
  }

  it('installs with `kudev plugins install file:<tgz>`, and lists, inspects and diagnoses it as a user plugin', async () => {
    const install = await runCli(['plugins', 'install', `file:${tarball}`], {env})
    expect(install.exitCode, install.stderr).to.equal(0)
    expect(JSON.parse(await readFile(join(dataDir, 'package.json'), 'utf8')).oclif.plugins).to.deep.equal([
      {name: PLUGIN, type: 'user', url: `file:${tarball}`},
    ])

    const list = await runCli(['plugins'], {env})
    expect(list.stdout).to.include(`${PLUGIN} 0.1.0`)
    const inspect = await runCli(['plugins', 'inspect', PLUGIN], {env})
    expect(inspect.exitCode, inspect.stderr).to.equal(0)
    expect(inspect.stdout).to.include(join(dataDir, 'node_modules', PLUGIN))
    // `podman` is the short name users type: oclif.aliases maps it to the package (as `plugins install podman` does).
    const byAlias = await runCli(['plugins', 'inspect', 'podman'], {env})
    expect(byAlias.exitCode, byAlias.stderr).to.equal(0)
    expect(byAlias.stdout).to.include(join(dataDir, 'node_modules', PLUGIN))

    const doctor = await runCli(['doctor', '--builder', 'podman', '--json'], {cwd: project, env})
    const report = JSON.parse(doctor.stdout)
    expect(report.builders.find((row: {name: string}) => row.name === 'podman')).to.include({
      plugin: PLUGIN,
      pluginType: 'user',
    })
    expect(report.plugins).to.deep.equal([{name: PLUGIN, type: 'user', version: '0.1.0'}])
    expect(report.checks.find((check: {name: string}) => check.name === 'builder')).to.include({
      ok: true,
      summary: 'podman',
    })
    expect(report.checks.find((check: {name: string}) => check.name === 'podman'))
      .to.include({ok: true})
      .and.have.property('summary')
      .that.matches(/^podman \d+\.\d+/)
  })

  it('`kudev up --builder podman` builds with podman and loads the image into the kind node', async () => {
    const first = await up()
    expect(first).to.include({builder: 'podman', built: true, loaded: true, loader: 'kind'})
    expect(first.image).to.match(new RegExp(`^${imageName}:kudev-[0-9a-f]{8}$`))
    expect(
      `sha256:${(await podman(['image', 'inspect', '--format', '{{.Id}}', `docker.io/${first.image}`])).trim()}`,
    ).to.equal(first.id)
    const node = cluster.nodes[0]!
    expect(await nodeImageIds(node)).to.include(first.id)
    // The name a pod spec's `image:` resolves to, not podman's localhost/ name.
    expect(await nodeImageRefs(node)).to.include(`docker.io/${first.image}`)
    // podman save's archive, read by kudev and sent whole: the node held none of its layers.
    expect(first.sent!.nodes.map((sent) => [sent.node, sent.mode])).to.deep.equal([[node, 'full']])
  })

  it('a second `kudev up` neither builds nor loads', async () => {
    const second = await up()
    expect(second).to.include({built: false, loaded: false, sent: null})
  })

  it("loads into the Docker daemon for Docker Desktop's kubeadm cluster (podman save | docker load), with the same image ID", async () => {
    expect(
      (await dockerResult(['inspect', 'desktop-control-plane'])).failed,
      'a desktop-control-plane node exists: this case needs kubeadm mode',
    ).to.equal(true)
    const desktop = {KUBECONFIG: join(fixtures, 'kubeconfig', 'docker-desktop.yaml')}
    const first = await up(desktop)
    cleanup.image(first.image)
    expect(first).to.include({built: false, loaded: true, loader: 'docker-desktop'})
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', first.image])).to.equal(first.id)
    expect(await up(desktop)).to.include({loaded: false})
  })

  it('`kudev plugins uninstall` removes it, and `--builder podman` then fails with exit 4 and the builders that exist', async () => {
    const uninstall = await runCli(['plugins', 'uninstall', PLUGIN], {env})
    expect(uninstall.exitCode, uninstall.stderr).to.equal(0)
    expect(existsSync(join(dataDir, 'node_modules', PLUGIN))).to.equal(false)
    expect((await runCli(['plugins'], {env})).stdout).to.not.include(PLUGIN)

    const build = await runCli(['build', '--builder', 'podman'], {cwd: project, env})
    expect(build.exitCode).to.equal(4)
    expect(build.stderr).to.equal(
      'Error: no builder named "podman" (from --builder)\nHint: available builders: docker; install one with: kudev plugins install NAME',
    )
  })
})
