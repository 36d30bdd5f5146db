import {expect} from 'chai'

import {KudevError} from '../../../src/output/errors.js'
import {createLogger} from '../../../src/output/logger.js'
import {pluginToolkit} from '../../../src/toolkit/index.js'
import {collectBuilders, collectLoaders, conflicts, hookTimeout, pickByName} from '../../../src/plugins/resolver.js'
import {oclifWithPlugins} from '../../support/cli.js'

const ALL = [
  'kudev-fixture-bad-shape',
  'kudev-fixture-duplicate',
  'kudev-fixture-future-api',
  'kudev-fixture-good',
  'kudev-fixture-hangs',
  'kudev-fixture-throws',
]

function captureLogger() {
  const lines: string[] = []
  const logger = createLogger('debug', {write: (chunk: string) => lines.push(chunk)}, {NO_COLOR: '1'})
  return {lines, logger}
}

describe('plugin resolver', () => {
  // The hanging fixture answers after this long: past the hook timeout, yet short enough to let mocha end.
  before(() => {
    process.env.KUDEV_FIXTURE_HANG_MS = '1500'
  })
  after(() => {
    delete process.env.KUDEV_FIXTURE_HANG_MS
  })

  it('collects descriptors from every plugin, sorted by name whatever order hooks finish in', async () => {
    const {oclif, remove} = await oclifWithPlugins(['kudev-fixture-good'])
    try {
      const {logger} = captureLogger()
      const loaders = await collectLoaders(oclif, {logger})
      expect(loaders.entries.map((entry) => entry.descriptor.name)).to.deep.equal([
        'another-loader',
        'colima',
        'docker-desktop',
        'fixture-loader',
        'k3d',
        'kind',
        'microk8s',
        'minikube',
        'orbstack',
        'rancher-desktop',
        'registry',
      ])
      expect(loaders.entries[0]!.plugin).to.deep.equal({name: 'kudev-fixture-good', type: 'link'})
      expect(loaders.entries[2]!.plugin).to.deep.equal({name: '@kudev/plugin-docker-desktop-loader', type: 'core'})
      expect(loaders.failures).to.deep.equal([])
    } finally {
      await remove()
    }
  })

  it('reports a throwing, hanging, future-API or malformed plugin by package name and keeps the others usable', async function () {
    this.timeout(20_000)
    const {oclif, remove} = await oclifWithPlugins(ALL)
    try {
      const {lines, logger} = captureLogger()
      const builders = await collectBuilders(oclif, {logger, timeoutMs: 500})
      const messages = builders.failures.map((failure) => failure.message)
      expect(messages).to.have.length(6)
      expect(messages.find((m) => m.includes('kudev-fixture-throws'))).to.match(
        /failed in its kudev:builders hook: cannot find podman\.sock/,
      )
      expect(messages.find((m) => m.includes('kudev-fixture-hangs'))).to.match(
        /did not answer kudev:builders within 500 ms/,
      )
      expect(messages.find((m) => m.includes('kudev-fixture-future-api'))).to.match(
        /plugin API version 99, this kudev supports 1/,
      )
      expect(messages.filter((m) => m.includes('kudev-fixture-bad-shape'))).to.have.length(3)
      expect(messages.join('\n')).to.include('"no-create" has no create() function')

      const usable = pickByName(
        {...builders, entries: builders.entries.filter((e) => e.plugin.name === 'kudev-fixture-good')},
        'fixture-builder',
        '--builder',
      )
      expect(usable.plugin.name).to.equal('kudev-fixture-good')
      expect(await usable.descriptor.create(pluginToolkit(logger))).to.deep.include({name: 'fixture-builder'})

      // Warnings name the plugin on one line each; the stack only at debug level.
      expect(lines.filter((line) => line.startsWith('Warning:'))).to.have.length(6)
      expect(lines.some((line) => line.startsWith('debug: Error: cannot find podman.sock'))).to.equal(true)
    } finally {
      await remove()
    }
  })

  it('captures a hook that calls this.error instead of letting it end the CLI', async () => {
    const {oclif, remove} = await oclifWithPlugins(['kudev-fixture-throws', 'kudev-fixture-good'])
    try {
      const loaders = await collectLoaders(oclif, {logger: captureLogger().logger})
      expect(loaders.failures.map((f) => f.message)).to.deep.equal([
        'plugin kudev-fixture-throws failed in its kudev:loaders hook: loader registration refused',
      ])
      expect(loaders.entries.map((entry) => entry.descriptor.name)).to.deep.equal([
        'another-loader',
        'colima',
        'docker-desktop',
        'fixture-loader',
        'k3d',
        'kind',
        'microk8s',
        'minikube',
        'orbstack',
        'rancher-desktop',
        'registry',
      ])
    } finally {
      await remove()
    }
  })

  it('refuses a name two plugins register, naming both packages', async () => {
    const {oclif, remove} = await oclifWithPlugins(['kudev-fixture-good', 'kudev-fixture-duplicate'])
    try {
      const builders = await collectBuilders(oclif, {logger: captureLogger().logger})
      expect([...conflicts(builders).keys()]).to.deep.equal(['fixture-builder'])
      expect(() => pickByName(builders, 'fixture-builder', '--builder')).to.throw(
        KudevError,
        /kudev-fixture-duplicate \(link\) and kudev-fixture-good \(link\)/,
      )
    } finally {
      await remove()
    }
  })

  it('answers an unknown name with a did-you-mean and the names that exist', async () => {
    const {oclif, remove} = await oclifWithPlugins(['kudev-fixture-good', 'kudev-fixture-throws'])
    try {
      const builders = await collectBuilders(oclif, {logger: captureLogger().logger})
      let error: KudevError | undefined
      try {
        pickByName(builders, 'fixture-buidler', 'spec.builder in /p/.kudev.yaml')
      } catch (thrown) {
        error = thrown as KudevError
      }

      expect(error?.code).to.equal('plugin')
      expect(error?.exitCode).to.equal(4)
      expect(error?.message).to.equal('no builder named "fixture-buidler" (from spec.builder in /p/.kudev.yaml)')
      expect(error?.hint)
        .to.include('did you mean "fixture-builder"?')
        .and.include('available builders: docker, fixture-builder')
      expect(error?.details.join()).to.include('kudev-fixture-throws')
    } finally {
      await remove()
    }
  })

  it('reads the hook timeout from KUDEV_HOOK_TIMEOUT_MS, ignoring nonsense', () => {
    expect(hookTimeout({KUDEV_HOOK_TIMEOUT_MS: '250'})).to.equal(250)
    expect(hookTimeout({KUDEV_HOOK_TIMEOUT_MS: 'soon'})).to.equal(5000)
    expect(hookTimeout({KUDEV_HOOK_TIMEOUT_MS: '-1'})).to.equal(5000)
    expect(hookTimeout({})).to.equal(5000)
  })
})
