import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, mkdir, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {runCli} from '../support/cli.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {CASES, differentialProject, EXCLUSION_CASES, expectedByKudev, imageFiles} from '../support/differential.js'

describe('build context: kudev hash --list against what Docker really copies (real engine)', function () {
  this.timeout(600_000)
  const cleanup = suiteCleanup()
  const builds = [
    {env: {DOCKER_BUILDKIT: '1'}, file: '/usr/bin/docker', name: 'BuildKit'},
    {env: {}, file: 'docker', name: 'classic builder'},
  ]

  let engineVersion = ''
  before(async function () {
    await requireDocker(this)
    engineVersion = (await execa('docker', ['version', '--format', '{{.Server.Version}}'])).stdout.trim()
  })

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const dir = await cleanup.tempDir('kudev-diff-')
      for (const file of testCase.files) {
        await mkdir(join(dir, dirname(file)), {recursive: true})
        await writeFile(join(dir, file), file)
      }

      await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n')
      await writeFile(join(dir, '.dockerignore'), `${testCase.ignore}\n.kudev.yaml\n`)
      const image = `kudev-test/${uniqueName('diff')}`
      await writeFile(
        join(dir, '.kudev.yaml'),
        `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: diff}\nspec: {imageName: ${image}}\n`,
      )
      const listed = await runCli(['hash', '--list', '--no-cache'], {cwd: dir})
      expect(listed.exitCode, listed.stderr).to.equal(0)
      const kudev = expectedByKudev(listed.stdout)

      for (const build of builds) {
        const tag = `${image}:${build.name === 'BuildKit' ? 'bk' : 'classic'}`
        cleanup.image(tag)
        const built = await execa(build.file, ['build', '-q', '-t', tag, dir], {
          env: {...process.env, ...build.env},
          reject: false,
        })
        expect(built.exitCode, built.stderr).to.equal(0)
        const copied = await imageFiles(tag)
        let known = engineVersion.startsWith('20.10.') ? testCase.buildkit2010 : undefined
        if (build.name === 'classic builder') known = testCase.classic
        const expected = kudev.filter((path) => !(known?.missing ?? []).includes(path)).sort()
        expect(copied, `${build.name} on Docker ${engineVersion}: ${testCase.ignore}`).to.deep.equal(expected)
      }
    })
  }

  it('symlinks are entries, never followed, in both builders', async () => {
    const dir = await cleanup.tempDir('kudev-diff-')
    await mkdir(join(dir, 'empty'))
    await writeFile(join(dir, 'target.txt'), 'x')
    await symlink('target.txt', join(dir, 'link'))
    await symlink('/etc/passwd', join(dir, 'outside'))
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n')
    const image = `kudev-test/${uniqueName('diff')}`
    await writeFile(join(dir, '.dockerignore'), '.kudev.yaml\n')
    await writeFile(
      join(dir, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: diff}\nspec: {imageName: ${image}}\n`,
    )
    const kudev = expectedByKudev((await runCli(['hash', '--list'], {cwd: dir})).stdout)
    expect(kudev).to.include.members(['empty/', 'link', 'outside'])
    for (const build of builds) {
      const tag = `${image}:${build.name === 'BuildKit' ? 'bk' : 'classic'}`
      cleanup.image(tag)
      await execa(build.file, ['build', '-q', '-t', tag, dir], {env: {...process.env, ...build.env}})
      expect(await imageFiles(tag)).to.deep.equal(kudev)
    }

    const {stdout} = await dockerResult(['image', 'ls', '-q', image])
    expect(stdout.trim().split('\n')).to.have.length(2)
  })
})

/**
 * What `kudev build` puts in the image is exactly `kudev hash --list`, whatever the builder: BuildKit
 * (Docker CLI 20.10 with DOCKER_BUILDKIT=1) builds from kudev's folder of the hashed entries, so even where
 * BuildKit 20.10 reads .dockerignore differently (above) the image holds what the tag names; the classic
 * builder (CLI 28) gets the tar.
 */
describe('build context: kudev build copies exactly kudev hash --list (real engine, both docker CLIs)', function () {
  this.timeout(600_000)
  const cleanup = suiteCleanup()
  const clis = [
    {env: {DOCKER_BUILDKIT: '1', PATH: `/usr/bin:${process.env.PATH}`}, name: 'BuildKit (CLI 20.10)', path: 'folder'},
    {env: {}, name: 'classic builder (CLI 28)', path: 'tar on stdin'},
  ]

  before(async function () {
    await requireDocker(this)
  })

  const project = (files: string[], ignore: string | undefined, exclusions: string[] = []) =>
    differentialProject(cleanup, files, ignore, exclusions)

  async function expectImageIsTheList(dir: string): Promise<void> {
    const env = {KUDEV_CACHE_DIR: join(dir, '..', `${dir.split('/').pop()}-cache`)}
    cleanup.dir(env.KUDEV_CACHE_DIR)
    const listed = await runCli(['hash', '--list'], {cwd: dir, env})
    expect(listed.exitCode, listed.stderr).to.equal(0)
    for (const cli of clis) {
      const built = await runCli(['build', '--force-build', '-v'], {cwd: dir, env: {...env, ...cli.env}})
      expect(built.exitCode, built.stderr).to.equal(0)
      expect(built.stderr).to.include(`build context: ${cli.path === 'folder' ? 'the folder' : 'a tar on stdin'}`)
      const image = built.stdout.split(' ')[0]!
      cleanup.image(image)
      expect(await imageFiles(image), cli.name).to.deep.equal(expectedByKudev(listed.stdout))
    }
  }

  for (const testCase of CASES) {
    const name = testCase.name.replace(/ \(not on .*\)$/, '')
    it(name, async () => expectImageIsTheList(await project(testCase.files, testCase.ignore)))
  }

  for (const testCase of EXCLUSION_CASES) {
    it(testCase.name, async () => expectImageIsTheList(await project(testCase.files, undefined, testCase.exclusions)))
  }

  it('symlinks, an empty folder and an executable file', async () => {
    const dir = await project(['target.txt', 'bin/run.sh'], '')
    await mkdir(join(dir, 'empty'))
    await symlink('target.txt', join(dir, 'link'))
    await symlink('/etc/passwd', join(dir, 'outside'))
    await chmod(join(dir, 'bin/run.sh'), 0o755)
    await expectImageIsTheList(dir)
  })
})
