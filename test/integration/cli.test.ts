import {expect} from 'chai'
import {execa} from 'execa'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {folderTimesTrusted} from '../../src/hash/folder-times.js'
import {dataDirWithPlugins, fixtures, isolatedEnv, repoRoot, runCli} from '../support/cli.js'
import {isCI} from '../support/docker.js'

const kubeconfig = (name: string) => join(fixtures, 'kubeconfig', `${name}.yaml`)

describe('kudev CLI (real processes)', function () {
  this.timeout(60_000)
  let project: string

  beforeEach(async () => {
    project = await mkdtemp(join(tmpdir(), 'kudev-cli-'))
  })
  afterEach(async () => {
    await rm(project, {force: true, recursive: true})
  })

  describe('startup and help', () => {
    it("prints the version in oclif's format", async () => {
      const {exitCode, stdout} = await runCli(['--version'])
      const {version} = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'))
      expect(exitCode).to.equal(0)
      expect(stdout).to.equal(`kudev/${version} ${process.platform}-${process.arch} node-${process.version}`)
    })

    it("lists the commands and the bundled oclif plugins' commands under --help and -h", async () => {
      for (const flag of ['--help', '-h']) {
        const {exitCode, stdout} = await runCli([flag])
        expect(exitCode).to.equal(0)
        for (const command of ['doctor', 'init', 'validate', 'plugins', 'autocomplete'])
          expect(stdout).to.match(new RegExp(`^  ${command} `, 'm'))
      }
    })

    it('answers a mistyped command off a terminal at once: one line, the closest command in the hint, exit 127', async () => {
      const started = Date.now()
      // stdin open and never answered, as in a script's pipe: a prompt would wait on it.
      const {exitCode, stderr, stdout} = await runCli(['biuld'], {stdin: 'pipe'})
      expect(Date.now() - started).to.be.below(8000)
      expect(exitCode).to.equal(127)
      expect(stdout).to.equal('')
      expect(stderr).to.equal(
        'Error: "biuld" is not a kudev command\nHint: did you mean "build"? (kudev help lists every command)',
      )
      const far = await runCli(['xyzzy', 'now'])
      expect(far.exitCode).to.equal(127)
      expect(far.stderr).to.equal('Error: "xyzzy" is not a kudev command\nHint: kudev help lists every command')
      const json = await runCli(['validat', '--json'])
      expect(json.exitCode).to.equal(127)
      expect(JSON.parse(json.stdout).error).to.deep.include({
        code: 'notFound',
        exitCode: 127,
        message: '"validat" is not a kudev command',
        suggestion: 'validate',
      })
      // The same answer through `kudev help`, whose own words were "Command biuld not found." (exit 2).
      const help = await runCli(['help', 'plugins', 'instal'])
      expect(help.exitCode).to.equal(127)
      expect(help.stderr).to.equal(
        'Error: "plugins instal" is not a kudev command\nHint: did you mean "plugins install"? (kudev help lists every command)',
      )
    })

    it('on a terminal, offers to run the closest command instead', async function () {
      if (process.platform !== 'linux' || !(await execa('script', ['--version'], {reject: false})).stdout) this.skip()
      // util-linux script(1) gives the CLI a terminal; CI='' because kudev never asks in CI.
      const onTerminal = (input: string) =>
        execa('script', ['-qec', `${process.execPath} ${join(repoRoot, 'bin', 'run.js')} valdate`, '/dev/null'], {
          cwd: project,
          env: isolatedEnv({CI: ''}),
          input,
          reject: false,
        })
      const declined = await onTerminal('n\n')
      expect(declined.stdout).to.include('"valdate" is not a kudev command. Run "validate" instead? [Y/n]')
      expect(declined.stdout).to.include('Hint: kudev help lists every command')
      expect(declined.exitCode).to.equal(127)
      const accepted = await onTerminal('y\n')
      expect(accepted.stdout).to.include(`Error: no .kudev.yaml found in ${project}`)
      expect(accepted.exitCode).to.equal(1)
    })

    it('asks only when stdin and stdout are both a terminal; otherwise the closest command is in the hint', async function () {
      if (process.platform !== 'linux' || !(await execa('script', ['--version'], {reject: false})).stdout) this.skip()
      const run = `${process.execPath} ${join(repoRoot, 'bin', 'run.js')}`
      // script(1) gives a terminal; the redirection takes it away from one end. stdin stays open and
      // unanswered (an open pipe), so a prompt would hang until its 10 s timeout.
      const halfTerminal = async (command: string) => {
        const started = Date.now()
        const result = await execa('script', ['-qec', command, '/dev/null'], {
          cwd: project,
          env: isolatedEnv({CI: ''}),
          reject: false,
          stdin: 'pipe',
        })
        return {...result, ms: Date.now() - started}
      }
      // The shell says the CLI's exit code: script(1) and a pipe answer their own.
      for (const command of [`${run} biuld < /dev/null; echo exit $?`, `{ ${run} biuld 2>&1; echo exit $?; } | cat`]) {
        const result = await halfTerminal(command)
        expect(result.ms, command).to.be.below(8000)
        expect(result.stdout, command).to.not.include('[Y/n]')
        expect(result.stdout, command).to.include('Hint: did you mean "build"? (kudev help lists every command)')
        expect(result.stdout, command).to.match(/^exit 127\r?$/m)
      }
      // A real command given a word it does not take is not a mistyped command: no question on a terminal either.
      const extra = await halfTerminal(`${run} build extra-arg`)
      expect(extra.stdout).to.not.include('[Y/n]')
      expect(extra.stdout).to.include('Error: kudev build takes no argument "extra-arg"')
      expect(extra.exitCode).to.equal(2)
    })

    it('runs the TypeScript sources with bin/dev.js from any working folder', async () => {
      const {exitCode, stdout} = await execa(
        join(repoRoot, 'bin', 'dev.js'),
        ['hash', '-C', join(repoRoot, 'examples', 'hello')],
        {cwd: project, env: {KUDEV_CACHE_DIR: join(project, 'cache')}, reject: false},
      )
      expect(exitCode).to.equal(0)
      expect(stdout).to.equal(
        (
          await runCli(['hash', '-C', join(repoRoot, 'examples', 'hello')], {
            env: {KUDEV_CACHE_DIR: join(project, 'cache')},
          })
        ).stdout,
      )
    })

    it('ships an oclif.manifest.json that matches the built commands', async () => {
      const {exitCode, stderr} = await execa(process.execPath, [join(repoRoot, 'scripts', 'manifest.js'), '--check'], {
        reject: false,
      })
      expect(stderr).to.equal('')
      expect(exitCode).to.equal(0)
    })
  })

  describe('errors', () => {
    it('reports an unknown flag as a usage error: one line, a hint with the closest flag, exit 2', async () => {
      const {exitCode, stderr, stdout} = await runCli(['validate', '--bogus'])
      expect(exitCode).to.equal(2)
      expect(stdout).to.equal('')
      expect(stderr).to.equal('Error: kudev validate has no flag --bogus\nHint: kudev validate --help lists every flag')
      const close = await runCli(['up', '--kube-contxt', 'kind-dev'])
      expect(close.exitCode).to.equal(2)
      expect(close.stderr).to.equal(
        'Error: kudev up has no flag --kube-contxt\nHint: did you mean --kube-context? (kudev up --help lists every flag)',
      )
      const json = await runCli(['build', '--verbos', '--json'])
      expect(json.exitCode).to.equal(2)
      expect(json.stderr).to.equal('')
      expect(JSON.parse(json.stdout)).to.deep.equal({
        error: {
          code: 'usage',
          command: 'build',
          exitCode: 2,
          hint: 'did you mean --verbose? (kudev build --help lists every flag)',
          message: 'kudev build has no flag --verbos',
          suggestion: '--verbose',
          unknownFlags: ['--verbos'],
        },
      })
    })

    it('says in words which argument is missing, with an example, exit 2', async () => {
      const {exitCode, stderr, stdout} = await runCli(['load'])
      expect(exitCode).to.equal(2)
      expect(stdout).to.equal('')
      expect(stderr).to.equal(
        'Error: kudev load needs an image reference, e.g. kudev load myapp:kudev-1a2b3c4d\nHint: see kudev load --help',
      )
      const json = await runCli(['load', '--json'])
      expect(json.exitCode).to.equal(2)
      expect(json.stderr).to.equal('')
      expect(JSON.parse(json.stdout)).to.deep.equal({
        error: {
          code: 'usage',
          command: 'load',
          exitCode: 2,
          hint: 'see kudev load --help',
          message: 'kudev load needs an image reference, e.g. kudev load myapp:kudev-1a2b3c4d',
          missing: ['image'],
        },
      })
    })

    it('refuses words a command does not take as a usage error, not an unknown command, exit 2', async () => {
      const {exitCode, stderr, stdout} = await runCli(['build', 'extra-arg'], {stdin: 'pipe'})
      expect(exitCode).to.equal(2)
      expect(stdout).to.equal('')
      expect(stderr).to.equal(
        'Error: kudev build takes no argument "extra-arg"\nHint: flags start with --; see kudev build --help',
      )
      const json = await runCli(['build', 'extra-arg', '--json'])
      expect(json.exitCode).to.equal(2)
      expect(json.stderr).to.equal('')
      expect(JSON.parse(json.stdout)).to.deep.equal({
        error: {
          code: 'usage',
          command: 'build',
          exitCode: 2,
          hint: 'flags start with --; see kudev build --help',
          message: 'kudev build takes no argument "extra-arg"',
          unexpected: ['extra-arg'],
        },
      })
      // oclif joins the words into a command id (build:extra-arg:more), or parses them after --.
      const cases: Array<[string[], string, string]> = [
        [
          ['build', 'extra-arg', 'more'],
          'kudev build takes no arguments: "extra-arg", "more"',
          'flags start with --; see kudev build --help',
        ],
        [
          ['build', '--', 'extra'],
          'kudev build takes no argument "extra"',
          'flags start with --; see kudev build --help',
        ],
        [['hash', 'json'], 'kudev hash takes no argument "json"', 'did you mean --json? (see kudev hash --help)'],
        [
          ['load', 'shop:1', 'shop:2'],
          'kudev load takes only an image reference, not "shop:2"',
          'flags start with --; see kudev load --help',
        ],
        [
          ['plugins', 'reset', 'extra'],
          'kudev plugins reset takes no argument "extra"',
          'flags start with --; see kudev plugins reset --help',
        ],
      ]
      for (const [args, message, hint] of cases) {
        const result = await runCli(args, {env: {KUDEV_DATA_DIR: join(project, 'data')}})
        expect(result.exitCode, args.join(' ')).to.equal(2)
        expect(result.stderr, args.join(' ')).to.equal(`Error: ${message}\nHint: ${hint}`)
      }
    })

    it('with --json, writes exactly one JSON document to stdout and nothing but it', async () => {
      const {exitCode, stderr, stdout} = await runCli(['validate', '--json'], {cwd: project})
      expect(exitCode).to.equal(1)
      expect(stderr).to.equal('')
      const document = JSON.parse(stdout)
      expect(document.error.code).to.equal('config')
      expect(document.error.exitCode).to.equal(1)
      expect(document.error.message).to.include(`no .kudev.yaml found in ${project}`)
      expect(document.error.hint).to.include('kudev init')
    })

    it('refuses --quiet together with --verbose', async () => {
      const {exitCode, stderr} = await runCli(['doctor', '-q', '-v'])
      expect(exitCode).to.equal(2)
      expect(stderr.split('\n')[0]).to.match(/^Error: --quiet=true cannot also be provided when using --verbose$/)
    })
  })

  describe("oclif's plugin commands fail in kudev's form", () => {
    // A data folder and npm cache of the test's own, and npm offline: nothing here may reach a registry.
    const npmEnv = () => ({
      KUDEV_DATA_DIR: join(project, 'data'),
      npm_config_cache: join(project, 'npm-cache'),
      npm_config_offline: 'true',
    })
    const errorLines = (stderr: string) => stderr.split('\n').filter((line) => /^(Error|Hint):/.test(line))

    it('a missing tarball: one Error line naming the path, a Hint, exit 4, and npm only under -v', async () => {
      const tarball = join(project, 'kudev-plugin-gone-1.0.0.tgz')
      const {exitCode, stderr, stdout} = await runCli(['plugins', 'install', `file:${tarball}`], {env: npmEnv()})
      expect(exitCode).to.equal(4)
      expect(stdout).to.equal('')
      expect(stderr).to.not.include('›')
      expect(stderr).to.not.match(/^npm /m)
      expect(errorLines(stderr)).to.deep.equal([
        `Error: cannot install file:${tarball}: no such file ${tarball}`,
        'Hint: check the path; a packed plugin is file:/absolute/path/to/plugin.tgz',
      ])
      // npm logged into a folder of kudev's, which is gone afterwards.
      const tmp = join(project, 'tmp')
      await mkdir(tmp)
      await runCli(['plugins', 'install', `file:${tarball}`], {env: {...npmEnv(), TMPDIR: tmp}})
      expect(await readdir(tmp)).to.deep.equal([])
      const verbose = await runCli(['plugins', 'install', `file:${tarball}`, '-v'], {env: npmEnv()})
      expect(verbose.exitCode).to.equal(4)
      expect(verbose.stdout).to.match(/^npm error code ENOENT$/m)
      expect(verbose.stderr).to.include(`Error: cannot install file:${tarball}`)
      const byLevel = await runCli(['plugins', 'install', `file:${tarball}`], {
        env: {...npmEnv(), KUDEV_LOG_LEVEL: 'debug'},
      })
      expect(byLevel.stderr).to.match(/^npm error code ENOENT$/m)
    })

    it('with --json, the error is the one document on stdout', async () => {
      const tarball = join(project, 'not-a-tarball.tgz')
      await writeFile(tarball, 'not gzip\n')
      const {exitCode, stdout} = await runCli(['plugins', 'install', `file:${tarball}`, '--json'], {env: npmEnv()})
      expect(exitCode).to.equal(4)
      expect(JSON.parse(stdout)).to.deep.equal({
        error: {
          code: 'plugin',
          exitCode: 4,
          hint: 'make the tarball again with npm pack',
          message: `cannot install file:${tarball}: not a valid tarball (TAR_BAD_ARCHIVE: Unrecognized archive format)`,
        },
      })
    })

    it('link, uninstall and a missing argument: one line each, exit 4 or 2', async () => {
      const env = npmEnv()
      const folder = join(project, 'no-such-plugin')
      const link = await runCli(['plugins', 'link', folder], {env})
      expect(link.exitCode).to.equal(4)
      expect(errorLines(link.stderr)).to.deep.equal([
        `Error: cannot link ${folder}: no such folder`,
        "Hint: give the plugin's folder, the one with its package.json",
      ])
      const uninstall = await runCli(['plugins', 'uninstall', 'kudev-plugin-never-installed'], {env})
      expect(uninstall.exitCode).to.equal(4)
      expect(uninstall.stderr).to.equal(
        'Error: kudev-plugin-never-installed is not an installed plugin\n' +
          'Hint: kudev plugins lists the installed and linked plugins; uninstall takes the package name',
      )
      const bundled = await runCli(['plugins', 'uninstall', '@kudev/plugin-kind-loader'], {env})
      expect(bundled.exitCode).to.equal(4)
      expect(bundled.stderr).to.include(
        'Error: @kudev/plugin-kind-loader is bundled with kudev and cannot be uninstalled',
      )
      const missing = await runCli(['plugins', 'install'], {env})
      expect(missing.exitCode).to.equal(2)
      expect(missing.stderr).to.equal(
        'Error: kudev plugins install needs a plugin to install\nHint: see kudev plugins install --help',
      )
      // inspect's argument defaults to '.', the plugin whose package.json is in this folder: there is none here.
      const inspect = await runCli(['plugins', 'inspect'], {cwd: project, env})
      expect(inspect.exitCode).to.equal(2)
      expect(inspect.stderr).to.equal(
        "Error: kudev plugins inspect needs a plugin's package name: without one it reads ./package.json, which this folder does not have\n" +
          'Hint: kudev plugins inspect <package name>; kudev plugins --core lists every plugin',
      )
    })

    it('inspect of a plugin that is not installed: nothing on stdout, the error on stderr, exit 4', async () => {
      const inspect = await runCli(['plugins', 'inspect', 'kudev-plugin-never-installed'], {env: npmEnv()})
      expect(inspect.exitCode).to.equal(4)
      expect(inspect.stdout).to.equal('')
      expect(inspect.stderr).to.equal(
        'Error: no plugin named kudev-plugin-never-installed\n' +
          'Hint: kudev plugins --core lists every plugin; inspect takes the package name',
      )
    })
  })

  describe('init and validate', () => {
    it('init writes a starter file that validate accepts once a Dockerfile exists', async () => {
      const init = await runCli(['init', '--name', 'shop-api'], {cwd: project})
      expect(init.exitCode).to.equal(0)
      expect(init.stdout).to.equal(`wrote ${join(project, '.kudev.yaml')}`)
      expect(init.stderr).to.include('no Dockerfile at')
      await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n')
      const validate = await runCli(['validate'], {cwd: project})
      expect(validate.stderr).to.equal('')
      expect(validate.exitCode).to.equal(0)
      expect(validate.stdout).to.include('valid (image shop-api')
    })

    it('init refuses to replace an existing file without --force and leaves it untouched', async () => {
      await writeFile(join(project, '.kudev.yaml'), 'mine\n')
      const refused = await runCli(['init'], {cwd: project})
      expect(refused.exitCode).to.equal(1)
      expect(refused.stderr).to.include('already exists').and.include('--force')
      expect(await readFile(join(project, '.kudev.yaml'), 'utf8')).to.equal('mine\n')
      const forced = await runCli(['init', '--force'], {cwd: project})
      expect(forced.exitCode).to.equal(0)
      expect(await readFile(join(project, '.kudev.yaml'), 'utf8')).to.include('apiVersion: kudev.io/v1alpha1')
    })

    it('validate lists every problem with file:line:col and exits 1', async () => {
      await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n')
      await writeFile(
        join(project, '.kudev.yaml'),
        [
          'apiVersion: kudev.io/v1alpha1',
          'kind: DeploymentConfig',
          'metadata:',
          '  name: shop',
          'spec:',
          '  imagename: shop',
          '  localPort: 70000',
          '',
        ].join('\n'),
      )
      const {exitCode, stderr, stdout} = await runCli(['validate', '-C', project])
      expect(exitCode).to.equal(1)
      expect(stdout).to.equal('')
      const file = join(project, '.kudev.yaml')
      expect(stderr).to.include(`${file}:6:3 spec.imagename`).and.include('did you mean "imageName"')
      expect(stderr).to.include(`${file}:7:14 spec.localPort`)
      expect(stderr).to.match(/^Hint: /m)
    })

    it('validate --json carries the problems as data', async () => {
      await writeFile(
        join(project, '.kudev.yaml'),
        'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: x}\nspec: {imageName: shop}\n',
      )
      const {exitCode, stdout} = await runCli(['validate', '--json', '--config', join(project, '.kudev.yaml')])
      expect(exitCode).to.equal(1)
      const {error} = JSON.parse(stdout)
      expect(error.problems.map((problem: {path: string}) => problem.path)).to.include.members([
        'metadata.name',
        'spec.dockerfilePath',
      ])
    })
  })

  it('doctor says where the hash cache is and whether folder times can vouch for listings', async () => {
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n')
    await writeFile(
      join(project, '.kudev.yaml'),
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: shop}\nspec: {imageName: shop}\n',
    )
    const env = {KUBECONFIG: join(project, 'no-kubeconfig'), KUDEV_CACHE_DIR: join(project, 'cache')}
    const row = async (extra: NodeJS.ProcessEnv) => {
      const report = JSON.parse(
        (await runCli(['doctor', '--json'], {cwd: project, env: {...env, ...extra}})).stdout,
      ) as {checks: Array<{name: string; summary: string; hint?: string; ok: boolean}>}
      return report.checks.find((check) => check.name === 'hash cache')!
    }

    const plain = await row({})
    expect(plain.ok).to.equal(true)
    // -v shows each program kudev runs, as a shell could run it.
    const verbose = await runCli(['doctor', '-v'], {cwd: project, env})
    expect(verbose.stderr).to.match(/^debug: \$ docker version --format '\{\{json \.\}\}'$/m)
    // The temp folder is on ext4 or tmpfs on these machines and in CI; elsewhere (macOS) it is not trusted.
    const verdict = folderTimesTrusted(project) === true || isCI() ? 'folder times trusted' : 'folder times not trusted'
    expect(plain.summary).to.match(
      new RegExp(`^${join(project, 'cache', 'tree')}/[0-9a-f]{32} \\(no snapshot yet\\); ${verdict}`),
    )
    await runCli(['hash'], {cwd: project, env})
    expect((await row({})).summary).to.match(/[0-9a-f]{32} \(1 snapshot\); /)
    const untrusted = await row({KUDEV_TRUST_FOLDER_TIMES: '0'})
    expect(untrusted).to.include({hint: 'unset KUDEV_TRUST_FOLDER_TIMES to let kudev trust them again', ok: true})
    expect(untrusted.summary).to.include('folder times not trusted (KUDEV_TRUST_FOLDER_TIMES=0)')
  })

  it('chooses the loader by --loader, else spec.loader, else detection, and refuses a context two loaders claim', async () => {
    const config =
      'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: shop}\nspec: {imageName: shop}\n'
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n')
    await writeFile(join(project, '.kudev.yaml'), config)
    const env = {KUBECONFIG: kubeconfig('claimed-twice'), KUDEV_CACHE_DIR: join(project, 'cache')}
    const loaderRow = async (...args: string[]) => {
      const result = await runCli(['doctor', '--json', ...args], {cwd: project, env})
      const report = JSON.parse(result.stdout) as {
        checks: Array<{name: string; summary: string; hint?: string; ok: boolean}>
      }
      return {exitCode: result.exitCode, row: report.checks.find((check) => check.name === 'loader')!}
    }

    const claimed = await loaderRow()
    expect(claimed.exitCode).to.equal(4)
    expect(claimed.row).to.deep.include({
      hint: 'pass --loader with one of them, or set spec.loader in .kudev.yaml',
      ok: false,
      summary:
        'kube context "minikube" is claimed by more than one loader: kind (@kudev/plugin-kind-loader) and minikube (@kudev/plugin-minikube-loader)',
    })
    expect((await loaderRow('--loader', 'docker-desktop')).row).to.deep.include({
      ok: true,
      summary: 'docker-desktop (@kudev/plugin-docker-desktop-loader), --loader',
    })
    await writeFile(
      join(project, '.kudev.yaml'),
      config.replace('imageName: shop}', 'imageName: shop, loader: minikube}'),
    )
    expect((await loaderRow()).row).to.deep.include({
      ok: true,
      summary: `minikube (@kudev/plugin-minikube-loader), spec.loader in ${join(project, '.kudev.yaml')}`,
    })
    expect((await loaderRow('--loader', 'kind')).row).to.deep.include({
      ok: true,
      summary: 'kind (@kudev/plugin-kind-loader), --loader',
    })
    const unknown = await runCli(['up', '--loader', 'nope'], {cwd: project, env})
    expect(unknown.exitCode).to.equal(4)
    expect(unknown.stderr).to.include(
      'colima, docker-desktop, k3d, kind, microk8s, minikube, orbstack, rancher-desktop',
    )
  })

  describe('doctor and plugins', () => {
    let data: Awaited<ReturnType<typeof dataDirWithPlugins>>
    before(async () => {
      data = await dataDirWithPlugins([
        'kudev-fixture-good',
        'kudev-fixture-throws',
        'kudev-fixture-hangs',
        'kudev-fixture-duplicate',
      ])
    })
    after(async () => data.remove())

    it('shows what each plugin registers, warns about broken ones, and does not wait for a hung hook', async () => {
      const started = Date.now()
      const {exitCode, stdout} = await runCli(['doctor', '--kube-context', 'kind-dev'], {
        cwd: project,
        env: {KUBECONFIG: kubeconfig('kind-dev'), KUDEV_DATA_DIR: data.dir, KUDEV_HOOK_TIMEOUT_MS: '1000'},
      })
      // The hung hook holds a one-hour timer: the CLI must still end soon after the hook timeout.
      expect(Date.now() - started).to.be.below(20_000)
      expect(exitCode).to.equal(1) // no .kudev.yaml in the project folder
      expect(stdout).to.match(/^✓ kube context +kind-dev \(cluster kind-dev/m)
      expect(stdout).to.match(
        /^✓ loaders +another-loader \(kudev-fixture-good\), colima \(@kudev\/plugin-vm-engine-loader\), docker-desktop \(@kudev\/plugin-docker-desktop-loader\), fixture-loader \(kudev-fixture-good\), k3d \(@kudev\/plugin-k3d-loader\), kind \(@kudev\/plugin-kind-loader\), microk8s \(@kudev\/plugin-microk8s-loader\), minikube \(@kudev\/plugin-minikube-loader\), orbstack \(@kudev\/plugin-vm-engine-loader\), rancher-desktop \(@kudev\/plugin-vm-engine-loader\), registry \(@kudev\/plugin-registry-loader\)$/m,
      )
      expect(stdout).to.match(/^✓ loader +kind \(@kudev\/plugin-kind-loader\), detected from kube context "kind-dev"$/m)
      expect(stdout).to.include('! plugin kudev-fixture-hangs did not answer kudev:builders within 1000 ms')
      expect(stdout).to.include(
        '! plugin kudev-fixture-throws failed in its kudev:builders hook: cannot find podman.sock',
      )
      expect(stdout).to.include(
        '! builder "fixture-builder" is registered by kudev-fixture-duplicate and kudev-fixture-good',
      )
    })

    it("shows a failing plugin's stack only under --verbose", async () => {
      const env = {KUBECONFIG: kubeconfig('kind-dev'), KUDEV_DATA_DIR: data.dir, KUDEV_HOOK_TIMEOUT_MS: '500'}
      const plain = await runCli(['doctor'], {cwd: project, env})
      expect(plain.stderr).to.not.include('builders.js:')
      const verbose = await runCli(['doctor', '--verbose'], {cwd: project, env})
      expect(verbose.stderr).to.match(
        /debug: Error: cannot find podman\.sock\n +at .*kudev-fixture-throws\/builders\.js/,
      )
      const byEnv = await runCli(['doctor'], {cwd: project, env: {...env, KUDEV_LOG_LEVEL: 'debug'}})
      expect(byEnv.stderr).to.include('debug: Error: cannot find podman.sock')
    })

    it('doctor --json is one document with every check', async () => {
      const {exitCode, stdout} = await runCli(['doctor', '--json'], {
        cwd: project,
        env: {KUBECONFIG: kubeconfig('minikube-profile'), KUDEV_DATA_DIR: data.dir, KUDEV_HOOK_TIMEOUT_MS: '500'},
      })
      expect(exitCode).to.equal(1)
      const report = JSON.parse(stdout)
      expect(report.checks.map((check: {name: string}) => check.name).slice(0, 4)).to.deep.equal([
        'config',
        'kube context',
        'builders',
        'loaders',
      ])
      expect(report.checks.find((check: {name: string}) => check.name === 'builder')).to.include({
        ok: true,
        summary: 'docker',
      })
      expect(report.context.name).to.equal('kudev-demo')
      expect(report.builders.map((row: {plugin: string}) => row.plugin)).to.deep.equal([
        '@kudev/plugin-docker-builder',
        'kudev-fixture-duplicate',
        'kudev-fixture-good',
      ])
    })
  })
})
