import {expect} from 'chai'
import {fakeToolkit, registeredLoaders} from 'kudev/testing'

import {DockerDesktopLoader} from '../src/loader.js'
import register from '../src/register.js'

describe('Docker Desktop loader registration', () => {
  it('registers a valid "docker-desktop" descriptor with detect, whose create() makes a DockerDesktopLoader', async () => {
    const descriptors = await registeredLoaders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['docker-desktop'])
    expect(descriptors[0]!.detect).to.be.a('function')
    const loader = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(loader.constructor.name).to.equal(DockerDesktopLoader.name)
    expect(loader.name).to.equal('docker-desktop')
  })
})
