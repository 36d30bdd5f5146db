import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {MinikubeLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('minikube loader registration', () => {
  it('registers a valid "minikube" descriptor with detect, whose create() makes a MinikubeLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['minikube'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(loader.constructor.name).to.equal(MinikubeLoader.name)
    expect(loader.name).to.equal('minikube')
  })
})
