/**
 * Plugins that fail, through the real CLI: for each failure mode a fixture plugin is linked next to the
 * bundled ones, and kudev must name the plugin's package in one clear line while every other plugin keeps
 * working (a real `kudev build --builder docker`, and doctor choosing the bundled kind loader). Also a
 * plugin installed under a bundled plugin's package name: it replaces that plugin, with a notice.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {type CliResult, dataDirWithPlugins, fixtures, runCli} from '../support/cli.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'

const KIND_DEV = join(fixtures, 'kubeconfig', 'kind-dev.yaml')
const BUNDLED_LOADERS = [
  'colima',
  'docker-desktop',
  'k3d',
  'kind',
  'microk8s',
  'minikube',
  'orbstack',
  'rancher-desktop',
  'registry',
]

interface FailureCase {
  name: string
  /** Fixture plugins linked for this case. */
  plugins: string[]
  /** What kudev warns when it collects builders, then loaders: each names the package. */
  builders: string[]
  loaders: string[]
}

const CASES: FailureCase[] = [
  {
    builders: ['plugin kudev-fixture-throws failed in its kudev:builders hook: cannot find podman.sock'],
    loaders: ['plugin kudev-fixture-throws failed in its kudev:loaders hook: loader registration refused'],
    name: 'a builders hook that throws, and a loaders hook that calls this.error',
    plugins: ['kudev-fixture-throws'],
  },
  {
    builders: ['plugin kudev-fixture-hangs did not answer kudev:builders within 1000 ms (KUDEV_HOOK_TIMEOUT_MS)'],
    loaders: [],
    name: 'a hook that never answers',
    plugins: ['kudev-fixture-hangs'],
  },
  {
    builders: [
      'plugin kudev-fixture-future-api registered a builder that kudev cannot use: "future-builder" is written for plugin API version 99, this kudev supports 1; install a version of the plugin made for it',
    ],
    loaders: [],
    name: 'a descriptor for an API version kudev does not support',
    plugins: ['kudev-fixture-future-api'],
  },
  {
    builders: [
      'plugin kudev-fixture-bad-shape registered a builder that kudev cannot use: "no-create" has no create() function',
      'plugin kudev-fixture-bad-shape registered a builder that kudev cannot use: expected a builder descriptor object, got "not-an-object"',
      'plugin kudev-fixture-bad-shape registered a builder that kudev cannot use: name "Bad Name" must be lowercase letters, digits and dashes (like "podman")',
    ],
    loaders: [
      'plugin kudev-fixture-bad-shape registered a loader that kudev cannot use: "bad-detect" has a detect that is not a function',
    ],
    name: 'descriptors of the wrong shape',
    plugins: ['kudev-fixture-bad-shape'],
  },
]

describe('plugins that fail, and a plugin that overrides a bundled one (real CLI)', function () {
  this.timeout(120_000)
  const cleanup = suiteCleanup()
  let project: string
  let imageName: string

  before(async function () {
    await requireDocker(this)
    project = await cleanup.tempDir('kudev-plugins-project-')
    imageName = `kudev-test/${uniqueName('plugins-app')}`
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n')
    await writeFile(join(project, 'app.txt'), 'app\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}}\n`,
    )
  })

  after(async () => {
    const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', imageName])
    for (const ref of stdout.split('\n').filter(Boolean)) await dockerResult(['image', 'rm', '-f', ref])
  })

  async function withLinked(plugins: string[], run: (env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
    const data = await dataDirWithPlugins(plugins)
    try {
      await run({KUBECONFIG: KIND_DEV, KUDEV_DATA_DIR: data.dir, KUDEV_HOOK_TIMEOUT_MS: '1000'})
    } finally {
      await data.remove()
    }
  }

  function expectBuiltWithDocker(result: CliResult): void {
    expect(result.exitCode, result.stderr).to.equal(0)
    const built = JSON.parse(result.stdout) as {builder: string; id: string; image: string}
    expect(built.builder).to.equal('docker')
    expect(built.image.startsWith(`${imageName}:kudev-`)).to.equal(true)
    expect(built.id).to.match(/^sha256:[0-9a-f]{64}$/)
  }

  for (const failure of CASES) {
    describe(failure.name, () => {
      it('names the plugin package in one line, and the bundled docker builder still builds', async () => {
        await withLinked(failure.plugins, async (env) => {
          const result = await runCli(['build', '--builder', 'docker', '--json'], {cwd: project, env})
          expectBuiltWithDocker(result)
          const warnings = result.stderr.split('\n').filter((line) => line.startsWith('Warning: '))
          expect(warnings).to.deep.equal(failure.builders.map((message) => `Warning: ${message} (skipped)`))
        })
      })

      it('doctor lists every bundled builder and loader, chooses the kind loader, and shows the warnings', async () => {
        await withLinked(failure.plugins, async (env) => {
          const result = await runCli(['doctor', '--json'], {cwd: project, env})
          const report = JSON.parse(result.stdout) as {
            builders: {name: string}[]
            checks: {name: string; ok: boolean; summary: string}[]
            loaders: {name: string}[]
            warnings: string[]
          }
          expect(report.builders.map((row) => row.name)).to.deep.equal(['docker'])
          expect(report.loaders.map((row) => row.name)).to.deep.equal(BUNDLED_LOADERS)
          expect(report.checks.find((check) => check.name === 'builder')).to.include({ok: true, summary: 'docker'})
          expect(report.checks.find((check) => check.name === 'loader'))
            .to.include({ok: true})
            .and.have.property('summary')
            .that.match(/^kind \(@kudev\/plugin-kind-loader\), detected from kube context "kind-dev"$/)
          expect(report.warnings).to.deep.equal(
            [...failure.builders, ...failure.loaders].map((message) => `${message} (skipped)`),
          )
        })
      })
    })
  }

  it("plugins link uses a plugin from its folder (the author's loop), and plugins unlink stops using it", async () => {
    const data = await cleanup.tempDir('kudev-link-data-')
    const env = {KUDEV_DATA_DIR: data}
    const linked = await runCli(['plugins', 'link', join(fixtures, 'plugins', 'kudev-fixture-good'), '--no-install'], {
      env,
    })
    expect(linked.exitCode, linked.stderr).to.equal(0)
    expect((await runCli(['plugins'], {env})).stdout).to.match(/^kudev-fixture-good .*\(link\)/m)
    const doctor = JSON.parse((await runCli(['doctor', '--json'], {env})).stdout) as {
      builders: {name: string; plugin: string}[]
    }
    expect(doctor.builders).to.deep.include({
      description: 'Builds nothing, for tests',
      name: 'fixture-builder',
      plugin: 'kudev-fixture-good',
      pluginType: 'link',
    })
    const unlinked = await runCli(['plugins', 'unlink', 'kudev-fixture-good'], {env})
    expect(unlinked.exitCode, unlinked.stderr).to.equal(0)
    const after = JSON.parse((await runCli(['doctor', '--json'], {env})).stdout) as {builders: {name: string}[]}
    expect(after.builders.map((row) => row.name)).to.deep.equal(['docker'])
  })

  describe('two plugins registering one name', () => {
    it('refuses the name, naming both packages, while the bundled docker builder still builds', async () => {
      await withLinked(['kudev-fixture-good', 'kudev-fixture-duplicate'], async (env) => {
        const refused = await runCli(['build', '--builder', 'fixture-builder'], {cwd: project, env})
        expect(refused.exitCode).to.equal(4)
        expect(refused.stderr).to.equal(
          'Error: builder "fixture-builder" is registered by more than one plugin: kudev-fixture-duplicate (link) and kudev-fixture-good (link)\n' +
            'Hint: uninstall one of them (kudev plugins uninstall NAME) so the name "fixture-builder" means one builder',
        )
        expectBuiltWithDocker(await runCli(['build', '--builder', 'docker', '--json'], {cwd: project, env}))
        const doctor = JSON.parse((await runCli(['doctor', '--json'], {cwd: project, env})).stdout) as {
          warnings: string[]
        }
        expect(doctor.warnings).to.include(
          'builder "fixture-builder" is registered by kudev-fixture-duplicate and kudev-fixture-good; it cannot be used until one is removed',
        )
      })
    })
  })

  describe("a user-installed plugin with a bundled plugin's package name", () => {
    let dataDir: string
    let env: NodeJS.ProcessEnv

    before(async () => {
      const packs = await cleanup.tempDir('kudev-plugins-pack-')
      const packed = await execa('npm', [
        'pack',
        join(fixtures, 'plugins', 'kudev-fixture-override-docker'),
        '--pack-destination',
        packs,
        '--json',
      ])
      const tarball = join(packs, (JSON.parse(packed.stdout) as {filename: string}[])[0]!.filename)
      dataDir = await cleanup.tempDir('kudev-plugins-data-')
      env = {
        KUBECONFIG: KIND_DEV,
        KUDEV_DATA_DIR: dataDir,
        npm_config_cache: await cleanup.tempDir('kudev-plugins-npm-cache-'),
        npm_config_offline: 'true',
      }
      const install = await runCli(['plugins', 'install', `file:${tarball}`], {env})
      expect(install.exitCode, install.stderr).to.equal(0)
      expect(JSON.parse(await readFile(join(dataDir, 'package.json'), 'utf8')).oclif.plugins).to.deep.equal([
        {name: '@kudev/plugin-docker-builder', type: 'user', url: `file:${tarball}`},
      ])
    })

    it('replaces the bundled plugin, with a notice', async () => {
      const result = await runCli(['build', '--builder', 'docker', '--json'], {cwd: project, env})
      expect(result.exitCode, result.stderr).to.equal(0)
      // The fixture's builder answers a made-up ID: the build went to it, not to the bundled docker builder.
      expect(JSON.parse(result.stdout)).to.include({builder: 'docker', built: true, id: `sha256:${'0'.repeat(64)}`})
      expect(result.stderr.split('\n').filter((line) => line.includes('overrides the bundled'))).to.deep.equal([
        'Warning: @kudev/plugin-docker-builder 9.9.9 (user) overrides the bundled @kudev/plugin-docker-builder',
      ])

      const doctor = JSON.parse((await runCli(['doctor', '--json'], {cwd: project, env})).stdout) as {
        builders: unknown[]
        warnings: string[]
      }
      expect(doctor.builders).to.deep.equal([
        {
          description: 'Override fixture: pretends to build',
          name: 'docker',
          plugin: '@kudev/plugin-docker-builder',
          pluginType: 'user',
        },
      ])
      expect(doctor.warnings).to.include(
        '@kudev/plugin-docker-builder 9.9.9 (user) overrides the bundled @kudev/plugin-docker-builder',
      )
    })

    it('gives the bundled plugin back once uninstalled', async () => {
      const uninstall = await runCli(['plugins', 'uninstall', '@kudev/plugin-docker-builder'], {env})
      expect(uninstall.exitCode, uninstall.stderr).to.equal(0)
      const result = await runCli(['build', '--builder', 'docker', '--json'], {cwd: project, env})
      expectBuiltWithDocker(result)
      expect(result.stderr).to.not.include('overrides the bundled')
    })
  })
})
