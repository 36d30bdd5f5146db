import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, lutimes, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {readSnapshot} from '../../../src/hash/snapshot.js'
import {snapshotFiles} from '../../../src/hash/snapshot-store.js'
import {isolatedEnv, repoRoot, runCli} from '../../support/cli.js'
import {makeTree, runningAsRoot, tempFolder} from '../../support/tree.js'

const CONFIG =
  'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: shop}\nspec:\n  imageName: shop/web\n'

// Real processes against dist/: run `npm run build` first.
describe('kudev hash', function () {
  this.timeout(60_000)
  let dir: string
  let env: NodeJS.ProcessEnv
  const cleanups: Array<() => Promise<void>> = []
  beforeEach(async () => {
    const project = await tempFolder('cli-hash')
    const cacheHome = await tempFolder('cli-hash-cache')
    cleanups.push(project.remove, cacheHome.remove)
    dir = project.dir
    env = {KUDEV_CACHE_DIR: cacheHome.dir}
    await makeTree(dir, {
      '.kudev.yaml': CONFIG,
      '.dockerignore': '# build output\ndist\n*.log\n',
      Dockerfile: 'FROM scratch\nCOPY . /app/\n',
      'src/index.js': 'console.log(1)\n',
      'src/empty': {dir: true},
      'dist/bundle.js': 'x'.repeat(2000),
      'debug.log': 'noise',
      'node_modules/left-pad/index.js': 'module.exports = 1\n',
    })
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  const kudev = (...args: string[]) => runCli(['hash', '-C', dir, ...args], {env})

  it('prints the tag and nothing else', async () => {
    const {exitCode, stderr, stdout} = await kudev()
    expect(exitCode, stderr).to.equal(0)
    expect(stdout).to.match(/^kudev-[\da-f]{8}$/)
    expect(stderr).to.equal('')
  })

  it('--json gives the tag, digest, image and sizes', async () => {
    const {exitCode, stdout} = await kudev('--json')
    expect(exitCode).to.equal(0)
    const result = JSON.parse(stdout) as Record<string, unknown>
    expect(result.image).to.equal(`shop/web:${result.tag}`)
    expect(result.digest).to.match(/^[\da-f]{64}$/)
    expect(result.tag).to.equal(`kudev-${String(result.digest).slice(0, 8)}`)
    expect(result).to.include({
      dirs: 4,
      entries: 8,
      files: 4,
      ignoreFile: join(dir, '.dockerignore'),
      imageName: 'shop/web',
      symlinks: 0,
    })
    expect(result.bytes).to.be.a('number')
  })

  it('--list prints what COPY . /dst would see, folders with a trailing slash', async () => {
    const {exitCode, stdout} = await kudev('--list')
    expect(exitCode).to.equal(0)
    expect(stdout.split('\n')).to.deep.equal([
      '.dockerignore',
      'Dockerfile',
      'node_modules/',
      'node_modules/left-pad/',
      'node_modules/left-pad/index.js',
      'src/',
      'src/empty/',
      'src/index.js',
    ])
  })

  it('--explain names the rule and file:line behind each exclusion, and hints at node_modules', async () => {
    const {exitCode, stdout} = await kudev('--explain')
    expect(exitCode).to.equal(0)
    const ignoreFile = join(dir, '.dockerignore')
    expect(stdout).to.include('Excluded: 3 paths (3 files, 2.1 kB)')
    expect(stdout).to.match(new RegExp(`debug\\.log +5 B +\\*\\.log +${ignoreFile}:3`))
    expect(stdout).to.match(new RegExp(`dist/ +1 file +2.0 kB +dist +${ignoreFile}:2`))
    expect(stdout).to.include(
      'Hint: node_modules/ is in the build context (1 file, 19 B): add `node_modules` to .dockerignore',
    )
    const json = JSON.parse((await kudev('--explain', '--json')).stdout) as {
      explain: {excluded: Array<{path: string; where: string}>}
    }
    expect(json.explain.excluded.map((item) => [item.path, item.where])).to.deep.equal([
      ['.kudev.yaml', "kudev's own configuration, never in the build context"],
      ['debug.log', `${ignoreFile}:3`],
      ['dist', `${ignoreFile}:2`],
    ])
  })

  it('changes the tag with a build arg, target or platform, and not with an excluded file', async () => {
    const plain = (await kudev()).stdout
    expect((await kudev('--build-arg', 'VERSION=2')).stdout).not.to.equal(plain)
    expect((await kudev('--target', 'runtime')).stdout).not.to.equal(plain)
    expect((await kudev('--platform', 'linux/arm64')).stdout).not.to.equal(plain)
    await writeFile(join(dir, 'debug.log'), 'other noise')
    expect((await kudev()).stdout).to.equal(plain)
  })

  it('--build-timestamp appends the UTC time', async () => {
    const {stdout} = await kudev('--build-timestamp')
    expect(stdout).to.match(/^kudev-[\da-f]{8}-\d{8}-\d{6}$/)
  })

  it('--no-cache reads every file; without it a second run reads none', async () => {
    const old = new Date('2020-01-01T00:00:00Z')
    for (const name of await readdir(dir, {recursive: true})) await lutimes(join(dir, name), old, old)
    await kudev()
    const warm = JSON.parse((await kudev('--json')).stdout) as {files: number; hashedFiles: number}
    expect(warm.hashedFiles).to.equal(0)
    const uncached = JSON.parse((await kudev('--json', '--no-cache')).stdout) as {files: number; hashedFiles: number}
    expect(uncached.hashedFiles).to.equal(uncached.files)
  })

  it('leaves a whole tree snapshot when several runs write it at once', async () => {
    const old = new Date('2020-01-01T00:00:00Z')
    for (const name of await readdir(dir, {recursive: true})) await lutimes(join(dir, name), old, old)
    const runs = await Promise.all(Array.from({length: 6}, () => kudev()))
    expect(new Set(runs.map((run) => run.stdout)).size).to.equal(1)
    const files = snapshotFiles(dir, env)
    expect(files).to.have.length(1)
    expect(readSnapshot(files[0]!)).not.to.have.property('problem')
    // No temp file left behind either.
    expect(await readdir(join(files[0]!, '..'))).to.deep.equal([files[0]!.slice(files[0]!.lastIndexOf('/') + 1)])
    expect((JSON.parse((await kudev('--json')).stdout) as {hashedFiles: number}).hashedFiles).to.equal(0)
  })

  describe('bad input', () => {
    it('a missing context folder', async () => {
      await writeFile(join(dir, '.kudev.yaml'), `${CONFIG}  buildContext: ./nope\n`)
      const {exitCode, stderr} = await kudev()
      expect(exitCode).to.equal(1)
      expect(stderr).to.include(`spec.buildContext: "./nope" does not exist (looked for ${join(dir, 'nope')})`)
    })

    it('a missing Dockerfile', async () => {
      await writeFile(join(dir, '.kudev.yaml'), `${CONFIG}  dockerfilePath: ./docker/Dockerfile\n`)
      const {exitCode, stderr} = await kudev()
      expect(exitCode).to.equal(1)
      expect(stderr).to.include(
        `spec.dockerfilePath: "./docker/Dockerfile" does not exist (looked for ${join(dir, 'docker/Dockerfile')})`,
      )
    })

    it('an unreadable .dockerignore pattern, as JSON', async () => {
      await writeFile(join(dir, '.dockerignore'), 'dist\n[\n')
      const {exitCode, stdout} = await kudev('--json')
      expect(exitCode).to.equal(1)
      const {error} = JSON.parse(stdout) as {error: {code: string; message: string}}
      expect(error.code).to.equal('config')
      expect(error.message).to.include(`${join(dir, '.dockerignore')}:2`)
    })

    it('an unreadable file, named in the error', async () => {
      // Root reads every file whatever its mode, so then kudev runs as the user nobody.
      await chmod(dir, 0o755)
      await chmod(join(dir, 'src/index.js'), 0o000)
      const result = await execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'hash', '-C', dir, '--no-cache'], {
        env: isolatedEnv(env),
        reject: false,
        ...(runningAsRoot ? {gid: 65534, uid: 65534} : {}),
      })
      expect(result.exitCode, result.stderr).to.equal(1)
      expect(result.stderr).to.include(
        `Error: cannot read file ${join(dir, 'src/index.js')} in the build context (permission denied)`,
      )
      expect(result.stderr).to.include('Hint: make it readable by the current user, or exclude it in .dockerignore')
    })

    it('--list with --explain', async () => {
      const {exitCode, stderr} = await kudev('--list', '--explain')
      expect(exitCode).to.equal(2)
      expect(stderr).to.match(/cannot also be provided/)
    })
  })
})
