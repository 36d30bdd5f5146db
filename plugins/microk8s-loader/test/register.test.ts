import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {Microk8sLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('microk8s loader registration', () => {
  it('registers a valid "microk8s" descriptor with detect, whose create() makes a Microk8sLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['microk8s'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(loader.constructor.name).to.equal(Microk8sLoader.name)
    expect(loader.name).to.equal('microk8s')
  })
})
