import {expect} from 'chai'
import {join} from 'node:path'

import {createLogger} from '../../../src/output/logger.js'
import {bundledOverrides, overrideNotice} from '../../../src/plugins/overrides.js'
import {collectBuilders, collectLoaders} from '../../../src/plugins/resolver.js'
import {fixtures, oclifWithPlugins} from '../../support/cli.js'

const DOCKER_BUILDER = '@kudev/plugin-docker-builder'
const OVERRIDE_ROOT = join(fixtures, 'plugins', 'kudev-fixture-override-docker')

function captureLogger() {
  const lines: string[] = []
  return {
    lines,
    logger: createLogger('debug', {write: (chunk: string) => lines.push(chunk.trimEnd())}, {NO_COLOR: '1'}),
  }
}

describe('plugins that override a bundled one', () => {
  it("finds a linked plugin that has a bundled plugin's package name", async () => {
    const {oclif, remove} = await oclifWithPlugins([DOCKER_BUILDER, 'kudev-fixture-good'], {
      [DOCKER_BUILDER]: OVERRIDE_ROOT,
    })
    try {
      expect(bundledOverrides(oclif)).to.deep.equal([{name: DOCKER_BUILDER, type: 'link', version: '9.9.9'}])
    } finally {
      await remove()
    }
  })

  it('finds none when the installed plugins only add to the bundled ones', async () => {
    const {oclif, remove} = await oclifWithPlugins(['kudev-fixture-good'])
    try {
      expect(bundledOverrides(oclif)).to.deep.equal([])
      const {lines, logger} = captureLogger()
      await collectBuilders(oclif, {logger})
      expect(lines.filter((line) => line.includes('overrides the bundled'))).to.deep.equal([])
    } finally {
      await remove()
    }
  })

  it("collects the overriding plugin's builder in place of the bundled one, with one notice per process", async () => {
    const {oclif, remove} = await oclifWithPlugins([DOCKER_BUILDER], {[DOCKER_BUILDER]: OVERRIDE_ROOT})
    try {
      const {lines, logger} = captureLogger()
      const builders = await collectBuilders(oclif, {logger})
      await collectLoaders(oclif, {logger})
      await collectBuilders(oclif, {logger})
      const docker = builders.entries.filter((entry) => entry.descriptor.name === 'docker')
      expect(docker).to.have.length(1)
      expect(docker[0]!.descriptor.description).to.equal('Override fixture: pretends to build')
      expect(docker[0]!.plugin).to.deep.equal({name: DOCKER_BUILDER, type: 'link'})
      expect(lines.filter((line) => line.includes('overrides the bundled'))).to.deep.equal([
        `Warning: ${DOCKER_BUILDER} 9.9.9 (link) overrides the bundled ${DOCKER_BUILDER}`,
      ])
    } finally {
      await remove()
    }
  })

  it('words the notice with the package, its version and how it was installed', () => {
    expect(overrideNotice({name: '@kudev/plugin-kind-loader', type: 'user', version: '2.0.0'})).to.equal(
      '@kudev/plugin-kind-loader 2.0.0 (user) overrides the bundled @kudev/plugin-kind-loader',
    )
  })
})
