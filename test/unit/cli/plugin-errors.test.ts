import {expect} from 'chai'

import {isPluginsCommand, jsonRequested} from '../../../src/cli/main.js'
import {parseNpmLog} from '../../../src/cli/npm-log.js'
import {pluginCommandError} from '../../../src/cli/plugin-errors.js'
import {interactive, nearestCommand} from '../../../src/hooks/command-not-found.js'

// Excerpts of npm 11's debug logs from real failed runs (kudev plugins install …).
const logs = {
  E404: `7 verbose title npm view kudev-plugin-does-not-exist-xyz
8 verbose argv "view" "kudev-plugin-does-not-exist-xyz" "--loglevel" "silent" "--no-fund"
16 error code E404
17 error 404 Not Found - GET https://registry.npmjs.org/kudev-plugin-does-not-exist-xyz
18 error 404
19 error 404  The requested resource 'kudev-plugin-does-not-exist-xyz@*' could not be found or you do not have permission to access it.
29 error A complete log of this run can be found in: /tmp/logs/2026-12-02T18_17_55_785Z-debug-0.log`,
  ENOENT: `8 verbose argv "install" "file:/nope.tgz" "--omit" "dev" "--no-audit" "--loglevel" "silent" "--no-fund"
13 warn tarball tarball data for file:/nope.tgz (null) seems to be corrupted. Trying again.
16 error code ENOENT
17 error syscall open
18 error path /nope.tgz
19 error errno -2
20 error enoent ENOENT: no such file or directory, open '/nope.tgz'
21 error enoent This is related to npm not being able to find a file.`,
  ENOTCACHED: `8 verbose argv "view" "is-odd" "--loglevel" "silent" "--no-fund"
18 error code ENOTCACHED
19 error request to https://registry.npmjs.org/is-odd failed: cache mode is 'only-if-cached' but no cached response is available.`,
  ETARGET: `8 verbose argv "install" "is-number@99.0.0" "--omit" "dev" "--no-audit" "--loglevel" "silent" "--no-fund"
21 error code ETARGET
22 error notarget No matching version found for is-number@99.0.0.
23 error notarget In most cases you or one of your dependencies are requesting a package version that doesn't exist.`,
  ENOTFOUND: `8 verbose argv "install" "https://github.com//nope/dir" "--omit" "dev" "--no-audit" "--loglevel" "silent"
14 error code ENOTFOUND
15 error syscall getaddrinfo
16 error errno ENOTFOUND
17 error network request to https://github.com//nope/dir failed, reason: getaddrinfo ENOTFOUND github.com`,
}

const npmExited = new Error('/usr/bin/node /x/npm-cli.js install file:/nope.tgz --omit dev exited with code 254')
const notInRegistry = new Error('kudev-plugin-does-not-exist-xyz does not exist in the registry.')

describe('plugin command errors', () => {
  it("reads npm's code, path, subcommand, spec and explanation from its debug log", () => {
    expect(parseNpmLog(logs.ENOENT)).to.deep.include({
      code: 'ENOENT',
      command: 'install',
      path: '/nope.tgz',
      spec: 'file:/nope.tgz',
      summary: "ENOENT: no such file or directory, open '/nope.tgz'",
    })
    expect(parseNpmLog(logs.E404)?.summary).to.equal(
      'Not Found - GET https://registry.npmjs.org/kudev-plugin-does-not-exist-xyz',
    )
    expect(parseNpmLog(logs.ETARGET)?.summary).to.equal('No matching version found for is-number@99.0.0.')
    expect(parseNpmLog('1 verbose cli node npm\n2 info ok\n')).to.equal(undefined)
  })

  const install = (thrown: Error, log: string, args: string[]) =>
    pluginCommandError(thrown, {args, command: 'plugins:install', npm: parseNpmLog(log)})

  it("names the package and npm's reason in one line, with what to do; all are exit 4", () => {
    const cases: Array<[Error, string, string[], string, string]> = [
      [
        npmExited,
        logs.ENOENT,
        ['file:/nope.tgz'],
        'cannot install file:/nope.tgz: no such file /nope.tgz',
        'check the path; a packed plugin is file:/absolute/path/to/plugin.tgz',
      ],
      [
        notInRegistry,
        logs.E404,
        ['kudev-plugin-does-not-exist-xyz'],
        'cannot install kudev-plugin-does-not-exist-xyz: not in the npm registry at https://registry.npmjs.org',
        'check the name (plugins are named kudev-plugin-<name>); KUDEV_NPM_REGISTRY selects another registry',
      ],
      [
        // Offline, oclif's installer says "does not exist in the registry": npm's log says why.
        new Error('is-odd does not exist in the registry.'),
        logs.ENOTCACHED,
        ['is-odd'],
        'cannot install is-odd: npm is offline and has no cached copy',
        'unset npm_config_offline to let npm reach the registry, or install a packed plugin: file:/absolute/path/to/plugin.tgz',
      ],
      [
        npmExited,
        logs.ETARGET,
        ['is-number@99.0.0'],
        'cannot install is-number@99.0.0: no published version matches (No matching version found for is-number@99.0.0.)',
        'npm view is-number versions lists them',
      ],
      [
        // A bare path is taken for a GitHub owner/repo.
        npmExited,
        logs.ENOTFOUND,
        ['/nope/dir'],
        'cannot install /nope/dir: without file: it is read as the repository https://github.com//nope/dir',
        'a local path needs the file: prefix: kudev plugins install file:/nope/dir',
      ],
    ]
    for (const [thrown, log, args, message, hint] of cases) {
      const error = install(thrown, log, args)
      expect(error?.message).to.equal(message)
      expect(error?.hint).to.equal(hint)
      expect(error?.exitCode).to.equal(4)
    }
  })

  it("keeps npm's error lines for --verbose, unless -v already showed npm's own output", () => {
    expect(install(npmExited, logs.ENOENT, ['file:/nope.tgz'])?.debug).to.include('npm error code ENOENT')
    expect(install(npmExited, logs.ENOENT, ['file:/nope.tgz', '-v'])?.debug).to.deep.equal([npmExited.message])
  })

  it('calls a malformed package name a usage error, and leaves a bug internal', () => {
    const invalid = Object.assign(new Error('Invalid npm package name.'), {oclif: {exit: 2}})
    const error = pluginCommandError(invalid, {args: ['Foo Bar'], command: 'plugins:install'})
    expect(error?.message).to.equal('"Foo Bar" is not a valid npm package name')
    expect(error?.exitCode).to.equal(2)
    expect(pluginCommandError(new TypeError('x is undefined'), {args: [], command: 'plugins:install'})).to.equal(
      undefined,
    )
  })

  it('says a bundled plugin cannot be uninstalled, and what an unknown name means', () => {
    const notInstalled = (name: string) => Object.assign(new Error(`${name} is not installed`), {oclif: {exit: 2}})
    const context = {args: [], command: 'plugins:uninstall', isBundled: (name: string) => name.startsWith('@kudev/')}
    expect(pluginCommandError(notInstalled('@kudev/plugin-kind-loader'), context)?.message).to.equal(
      '@kudev/plugin-kind-loader is bundled with kudev and cannot be uninstalled',
    )
    expect(pluginCommandError(notInstalled('kudev-plugin-x'), context)?.message).to.equal(
      'kudev-plugin-x is not an installed plugin',
    )
    expect(
      pluginCommandError(new Error('x not installed'), {args: ['x'], command: 'plugins:inspect'})?.message,
    ).to.equal('no plugin named x')
  })

  it('says inspect without a name needs one when this folder has no package.json, or one that is not JSON', () => {
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'package.json'"), {code: 'ENOENT'})
    const none = pluginCommandError(missing, {args: [], command: 'plugins:inspect'})
    expect(none).to.include({
      code: 'usage',
      hint: 'kudev plugins inspect <package name>; kudev plugins --core lists every plugin',
      message:
        "kudev plugins inspect needs a plugin's package name: without one it reads ./package.json, which this folder does not have",
    })
    const broken = pluginCommandError(new SyntaxError('Unexpected token } in JSON at position 9'), {
      args: ['.', '-v'],
      command: 'plugins:inspect',
    })
    expect(broken?.message).to.equal(
      "kudev plugins inspect needs a plugin's package name: without one it reads ./package.json, which is not JSON here",
    )
    // A name was given: a missing file there is not about the folder.
    expect(pluginCommandError(missing, {args: ['kudev-plugin-x'], command: 'plugins:inspect'})).to.equal(undefined)
  })
})

describe('command line', () => {
  it('knows the plugin commands and --json as oclif does', () => {
    expect(isPluginsCommand(['plugins', 'install', 'x'])).to.equal(true)
    expect(isPluginsCommand(['plugins:link'])).to.equal(true)
    expect(isPluginsCommand(['build'])).to.equal(false)
    expect(jsonRequested(['build', '--json'], {})).to.equal(true)
    expect(jsonRequested(['build', '--', '--json'], {})).to.equal(false)
    expect(jsonRequested(['build'], {KUDEV_CONTENT_TYPE: 'JSON'})).to.equal(true)
  })
})

describe('command not found', () => {
  const command = (id: string, options: {aliases?: string[]; hidden?: boolean} = {}) => ({
    aliases: options.aliases ?? [],
    hidden: options.hidden ?? false,
    id,
  })
  const config = {
    commands: [command('build'), command('plugins'), command('plugins:install', {aliases: ['plugins:add']})],
  } as unknown as Parameters<typeof nearestCommand>[0]

  it('suggests the closest visible command; the words after the mistyped one are arguments', () => {
    expect(nearestCommand(config, 'biuld')).to.deep.equal({rest: [], suggestion: 'build', typed: 'biuld'})
    expect(nearestCommand(config, 'biuld:now')).to.deep.equal({rest: ['now'], suggestion: 'build', typed: 'biuld'})
    expect(nearestCommand(config, 'plugins:instal')).to.deep.include({suggestion: 'plugins install'})
    expect(nearestCommand(config, 'xyzzy').suggestion).to.equal(undefined)
  })

  it('ends the command at a word that leads to no longer command, so a real command keeps its arguments', () => {
    expect(nearestCommand(config, 'build:extra:more')).to.deep.include({rest: ['extra', 'more'], typed: 'build'})
    expect(nearestCommand(config, 'plugins:instal:foo')).to.deep.include({rest: ['foo'], typed: 'plugins instal'})
  })

  it('below a topic, measures only the mistyped word', () => {
    // "plugins foo" is three edits from "plugins add", within a third of its 11 letters, but "foo" is not "add".
    expect(nearestCommand(config, 'plugins:foo').suggestion).to.equal(undefined)
    expect(nearestCommand(config, 'plugins:ad').suggestion).to.equal('plugins add')
  })

  it('never asks in CI', () => {
    expect(interactive({CI: 'true'})).to.equal(false)
  })
})
