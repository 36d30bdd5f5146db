/**
 * What `kudev build --builder podman` puts in the image is exactly `kudev hash --list`, over the cases of
 * the Docker differential (differential.test.ts): built from kudev's folder of the hashed entries, where
 * the folder's own .dockerignore is an entry and not a rule, and from the tar on stdin, the path a build
 * takes while another kudev run holds the folder. kudev-plugin-podman is linked from plugins/podman (its
 * dist: `npm run build` first); each image reaches Docker through `podman save | docker load`.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {chmod, mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {qualifiedName} from '../../plugins/podman/src/command.js'
import {mirrorFolder} from '../../src/context/mirror.js'
import {dataDirWithPlugins, repoRoot, runCli} from '../support/cli.js'
import {CASES, differentialProject, EXCLUSION_CASES, expectedByKudev, imageFiles} from '../support/differential.js'
import {requireDocker, suiteCleanup} from '../support/docker.js'
import {danglingPodmanImages, removeNewDanglingImages, removePodmanImage, requirePodman} from '../support/podman.js'

const PLUGIN = 'kudev-plugin-podman'

describe('build context: kudev build --builder podman copies exactly kudev hash --list (real podman)', function () {
  this.timeout(600_000)
  const cleanup = suiteCleanup()
  let dataDir: string

  before(async function () {
    await requireDocker(this)
    await requirePodman(this)
    if (!existsSync(join(repoRoot, 'plugins', 'podman', 'dist', 'register.js')))
      throw new Error('plugins/podman is not built: run `npm run build` first')
    const data = await dataDirWithPlugins([PLUGIN], {[PLUGIN]: join(repoRoot, 'plugins', 'podman')})
    cleanup.add('the data folder linking the podman plugin', data.remove)
    dataDir = data.dir
    const danglingBefore = await danglingPodmanImages()
    cleanup.add('images podman left untagged', () => removeNewDanglingImages(danglingBefore))
  })

  async function expectImageIsTheList(dir: string): Promise<void> {
    const env = {KUDEV_CACHE_DIR: join(dir, '..', `${dir.split('/').pop()}-cache`), KUDEV_DATA_DIR: dataDir}
    cleanup.dir(env.KUDEV_CACHE_DIR)
    const listed = await runCli(['hash', '--list'], {cwd: dir, env})
    expect(listed.exitCode, listed.stderr).to.equal(0)
    for (const from of ['the folder', 'a tar on stdin']) {
      // The folder is held by a live process (this one): the build sends the tar, as beside another kudev run.
      const lock = join(mirrorFolder(dir, env), 'lock')
      if (from === 'a tar on stdin') {
        await mkdir(mirrorFolder(dir, env), {recursive: true})
        await writeFile(lock, String(process.pid))
      }

      // Without the layer cache, each image is copied from its own context.
      const built = await runCli(['build', '--builder', 'podman', '--force-build', '--no-cache', '-v'], {
        cwd: dir,
        env,
      })
      await rm(lock, {force: true})
      expect(built.exitCode, built.stderr).to.equal(0)
      expect(built.stderr).to.include(`build context: ${from}`)
      const image = built.stdout.split(' ')[0]!
      cleanup.add(`podman image ${image}`, () => removePodmanImage(qualifiedName(image)))
      cleanup.image(image)
      await execa('sh', ['-c', `podman save --format docker-archive ${qualifiedName(image)} | docker load -q`])
      expect(await imageFiles(image), from).to.deep.equal(expectedByKudev(listed.stdout))
    }
  }

  for (const testCase of CASES) {
    const name = testCase.name.replace(/ \(not on .*\)$/, '')
    it(name, async () => expectImageIsTheList(await differentialProject(cleanup, testCase.files, testCase.ignore)))
  }

  for (const testCase of EXCLUSION_CASES) {
    it(testCase.name, async () =>
      expectImageIsTheList(await differentialProject(cleanup, testCase.files, undefined, testCase.exclusions)),
    )
  }

  it('symlinks, an empty folder and an executable file', async () => {
    const dir = await differentialProject(cleanup, ['target.txt', 'bin/run.sh'], '')
    await mkdir(join(dir, 'empty'))
    await symlink('target.txt', join(dir, 'link'))
    await symlink('/etc/passwd', join(dir, 'outside'))
    await chmod(join(dir, 'bin/run.sh'), 0o755)
    await expectImageIsTheList(dir)
  })

  // Podman applies a context's .containerignore rather than its .dockerignore, which kudev hashes by. kudev
  // gives podman an ignore file of its own, from the folder and from the tar, so the project's applies to neither.
  // A Dockerfile left out of the context travels in the tar under a hidden name, with a .dockerignore that
  // hides it (kudev's own when the context has none): kudev's ignore file for podman must hide exactly those.
  it('a Dockerfile the context leaves out, by its .dockerignore or by buildContextExclusions, is not copied', async () => {
    await expectImageIsTheList(await differentialProject(cleanup, ['app.js', 'lib/x.js'], 'Dockerfile'))
    await expectImageIsTheList(await differentialProject(cleanup, ['app.js', 'lib/x.js'], undefined, ['Dockerfile']))
  })

  it('a .containerignore is an entry like any other, from the folder and from the tar', async () => {
    const dir = await differentialProject(cleanup, ['.containerignore', 'app.js', 'notes.md'], '*.md')
    await writeFile(join(dir, '.containerignore'), 'app.js\n')
    await expectImageIsTheList(dir)
  })
})
