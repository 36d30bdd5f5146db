import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, mkdir, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {runCli} from '../support/cli.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'

interface Case {
  name: string
  ignore: string
  files: string[]
  /** Paths the classic builder copies differently: kudev follows BuildKit (research/dockerignore-semantics.md). */
  classic?: {missing?: string[]}
  /**
   * Paths Docker 20.10's BuildKit (the engine Debian 12 ships, used here) copies differently: its fsutil
   * predates the walker that evaluates non-prefix exceptions below excluded folders; kudev follows current
   * BuildKit (Docker 23+).
   */
  buildkit2010?: {missing?: string[]}
}

// Trees whose .dockerignore trips gitignore-minded matchers, and where the classic builder and BuildKit part.
const CASES: Case[] = [
  {
    files: ['node_modules/x.js', 'a/node_modules/x.js', 'app.js'],
    ignore: 'node_modules',
    name: 'a bare name matches only at the root',
  },
  {files: ['README.md', 'CHANGES.md', 'docs/notes.md'], ignore: '*.md\n!README.md', name: '* does not cross folders'},
  {
    files: ['docs/README.md', 'docs/guide.md', 'src/a.go'],
    ignore: 'docs\n!docs/README.md',
    name: '! re-includes below an excluded folder',
  },
  {
    buildkit2010: {missing: ['sub/', 'sub/x.py']},
    classic: {missing: ['sub/', 'sub/x.py']},
    files: ['x.py', 'sub/x.py', 'sub/y.txt'],
    ignore: '*\n!Dockerfile\n!**/*.py',
    name: '!**/*.py re-includes at any depth (not on the classic builder nor on the BuildKit of Docker 20.10)',
  },
  {
    buildkit2010: {missing: ['docker/app/', 'docker/app/Dockerfile.app']},
    classic: {missing: ['docker/', 'docker/app/', 'docker/app/Dockerfile.app']},
    files: ['docker/app/Dockerfile.app', 'docker/app/x'],
    ignore: '*\n!Dockerfile\n!docker/*/Dockerfile.app',
    name: 'a wildcard folder in an exception (not on the classic builder nor on the BuildKit of Docker 20.10)',
  },
  {files: ['web/x/y', 'util/z'], ignore: '**\n!Dockerfile\n!web', name: '** then ! a folder'},
  {
    files: ['ignored/file', 'ignored/sub/file', 'kept'],
    ignore: 'ignored/*\n!ignored/*/',
    name: 'a trailing slash is dropped from an exception',
  },
  {files: ['a/dir/file.txt', 'a/file.txt', 'b/file.txt'], ignore: 'a**/*.txt', name: 'a** followed by a path'},
  {files: ['foo', 'bar/foo'], ignore: 'foo/', name: 'foo/ also excludes a file named foo'},
  {
    files: ['node_modules/x', 'bar', 'baz', ' foo'],
    ignore: ' bar\n./node_modules\nfoo/../baz',
    name: 'patterns are trimmed and cleaned',
  },
  {files: ['xbc', '!bc', 'abc'], ignore: '[!a]bc', name: '[!a] means ! or a'},
  {files: ['README.md', 'readme.md'], ignore: 'README.md', name: 'matching is case-sensitive'},
  {
    files: ['temp1', 'a/temp2', 'somedir/temporary.txt', 'a/b/temp'],
    ignore: '*/temp*\ntemp?',
    name: 'a wildcard folder level',
  },
]

function expectedByKudev(lines: string): string[] {
  return lines.split('\n').filter(Boolean).sort()
}

async function imageFiles(image: string): Promise<string[]> {
  const {stdout: id} = await execa('docker', ['create', image, 'true'])
  try {
    const exported = await execa('sh', ['-c', `docker export ${id.trim()} | tar -t`])
    return exported.stdout
      .split('\n')
      .filter((line) => line.startsWith('ctx/') && line !== 'ctx/')
      .map((line) => line.slice(4))
      .sort()
  } finally {
    await execa('docker', ['rm', '-f', id.trim()])
  }
}

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

/** `spec.buildContextExclusions` are .gitignore rules, which .dockerignore reads differently. */
const EXCLUSION_CASES: {name: string; exclusions: string[]; files: string[]}[] = [
  {
    exclusions: ['*.md', '!README.md'],
    files: ['README.md', 'CHANGES.md', 'docs/notes.md', 'docs/README.md', 'app.js'],
    name: 'exclusions: *.md at any depth, ! re-includes a name at any depth',
  },
  {
    exclusions: ['build/'],
    files: ['build/out.js', 'sub/build', 'sub/build2/x', 'app.js'],
    name: 'exclusions: build/ is folders only, at any depth',
  },
  {
    exclusions: ['logs', '!logs/keep.txt'],
    files: ['logs/a.txt', 'logs/keep.txt', 'app.js'],
    name: 'exclusions: nothing comes back from inside an excluded folder',
  },
]

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

  async function project(files: string[], ignore: string | undefined, exclusions: string[] = []) {
    const dir = await cleanup.tempDir('kudev-diff-build-')
    for (const file of files) {
      await mkdir(join(dir, dirname(file)), {recursive: true})
      await writeFile(join(dir, file), file)
    }

    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx/\n')
    if (ignore !== undefined) await writeFile(join(dir, '.dockerignore'), `${ignore}\n.kudev.yaml\n`)
    const image = `kudev-test/${uniqueName('diff-build')}`
    await writeFile(
      join(dir, '.kudev.yaml'),
      `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: diff}\nspec: {imageName: ${image}, buildContextExclusions: ${JSON.stringify(exclusions)}}\n`,
    )
    return dir
  }

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
