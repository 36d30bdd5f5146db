import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {VmEngineLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('VM engine loaders: registration', () => {
  it('registers three valid descriptors with detect, whose create() makes a VmEngineLoader of that name', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['rancher-desktop', 'orbstack', 'colima'])
    for (const descriptor of descriptors) {
      expect(descriptor.detect, descriptor.name).to.be.a('function')
      const loader = await descriptor.create(fakeToolkit())
      // Compared by name: the lazily imported module need not be the instance this test imported.
      expect(loader.constructor.name).to.equal(VmEngineLoader.name)
      expect(loader.name).to.equal(descriptor.name)
    }
  })

  it('each claims only its own context', async () => {
    const descriptors = await registeredLoaders(register)
    const claims = (name: string) =>
      descriptors
        .filter(
          (descriptor) =>
            descriptor.detect?.({clusterExtensions: {}, extensions: {}, name}, {forced: false}) !== undefined,
        )
        .map((descriptor) => descriptor.name)
    expect(claims('rancher-desktop')).to.deep.equal(['rancher-desktop'])
    expect(claims('orbstack')).to.deep.equal(['orbstack'])
    expect(claims('colima-dev')).to.deep.equal(['colima'])
  })
})
