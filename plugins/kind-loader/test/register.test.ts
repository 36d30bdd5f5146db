import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {KindLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('kind loader registration', () => {
  it('registers a valid "kind" descriptor with detect, whose create() makes a KindLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['kind'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(loader.constructor.name).to.equal(KindLoader.name)
    expect(loader.name).to.equal('kind')
  })
})
