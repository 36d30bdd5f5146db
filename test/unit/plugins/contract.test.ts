import {Config} from '@oclif/core'
import {expect} from 'chai'

import type {Builder, BuilderDescriptor, BuildersHook, LoaderDescriptor, LoadersHook} from '../../../src/index.js'
import {BUILDERS_EVENT, ExitCode, LOADERS_EVENT, SUPPORTED_API_VERSIONS} from '../../../src/index.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {repoRoot} from '../../support/cli.js'

const builder: Builder = {
  build: async () => ({id: 'sha256:0', ref: 'x:y'}),
  inspect: async () => undefined,
  name: 'typed',
  save: async () => {
    throw new Error('not in this test')
  },
}

const typedHook: BuildersHook = async function () {
  const descriptor: BuilderDescriptor = {
    apiVersion: 1,
    create: async () => builder,
    description: 'Typed example',
    name: 'typed',
  }
  return descriptor
}

const typedLoaders: LoadersHook = async function (options) {
  // The options are typed too: a plugin can see which API versions the running kudev speaks.
  const apiVersion = options.apiVersions.includes(1) ? 1 : 0
  const descriptor: LoaderDescriptor = {
    apiVersion,
    create: async () => ({has: async () => false, load: async () => undefined, name: 'typed'}),
    description: 'Typed loader',
    detect: (context) => (context.name === 'typed' ? {context: context.name, params: {}} : undefined),
    name: 'typed',
  }
  return [descriptor]
}

// The hook types are real, not `any`: each line below must fail to compile (checked by `tsc -p test`).
// @ts-expect-error a builders hook must return descriptors
export const wrongReturn: BuildersHook = async function () {
  return 42
}

// @ts-expect-error a descriptor needs create()
export const missingCreate: BuilderDescriptor = {apiVersion: 1, description: 'x', name: 'x'}

describe('public plugin contract', () => {
  it('exports the event names, API versions and exit codes plugin authors need', () => {
    expect(BUILDERS_EVENT).to.equal('kudev:builders')
    expect(LOADERS_EVENT).to.equal('kudev:loaders')
    expect(SUPPORTED_API_VERSIONS).to.include(1)
    expect(ExitCode.build).to.equal(6)
  })

  it('accepts what a typed hook returns', async () => {
    const config = await Config.load({root: repoRoot})
    const options = {apiVersions: SUPPORTED_API_VERSIONS, config, context: {} as never, kudevVersion: '0.0.0'}
    expect(checkDescriptor(await typedHook.call({} as never, options), 'builder')).to.equal(undefined)
    const [loader] = (await typedLoaders.call({} as never, options)) as LoaderDescriptor[]
    expect(checkDescriptor(loader, 'loader')).to.equal(undefined)
    expect(
      await loader!.detect!({clusterExtensions: {}, extensions: {}, name: 'typed'}, {forced: false}),
    ).to.deep.equal({context: 'typed', params: {}})
  })
})
