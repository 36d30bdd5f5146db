import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {K3dLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('k3d loader registration', () => {
  it('registers a valid "k3d" descriptor with detect, whose create() makes a K3dLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['k3d'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(loader.constructor.name).to.equal(K3dLoader.name)
    expect(loader.name).to.equal('k3d')
  })
})
