import {expect} from 'chai'
import type {KubeContextInfo} from 'kudev'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {detectRegistry} from '../src/detect.js'
import {RegistryLoader} from '../src/loader.js'
import register from '../src/register.js'

const context: KubeContextInfo = {
  cluster: 'gke_proj_zone_dev',
  clusterExtensions: {},
  extensions: {},
  name: 'gke_proj_zone_dev',
  server: 'https://34.1.2.3',
}

describe('registry loader registration and detection', () => {
  it('registers a valid "registry" descriptor with detect, whose create() makes a RegistryLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['registry'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    expect(loader.constructor.name).to.equal(RegistryLoader.name)
    expect(loader.name).to.equal('registry')
  })

  it('declines every context when no registry is configured', () => {
    expect(detectRegistry(context, {forced: false})).to.equal(undefined)
    expect(detectRegistry(context, {forced: false, registry: ''})).to.equal(undefined)
    expect(detectRegistry(context, {forced: false, registry: '  '})).to.equal(undefined)
  })

  it('claims any context when a registry is configured, with the registry as its parameter', () => {
    for (const forced of [false, true]) {
      expect(detectRegistry(context, {forced, registry: '127.0.0.1:5001'})).to.deep.equal({
        context: 'gke_proj_zone_dev',
        params: {registry: '127.0.0.1:5001'},
      })
    }
  })

  it('leaves a malformed registry to the loader, which can make the usage error', () => {
    expect(detectRegistry(context, {forced: true, registry: 'http://x'})).to.deep.equal({
      context: 'gke_proj_zone_dev',
      params: {registry: 'http://x'},
    })
  })

  it('when forced without a registry, claims the context so the loader can say one is needed', () => {
    expect(detectRegistry(context, {forced: true})).to.deep.equal({context: 'gke_proj_zone_dev', params: {}})
  })
})
