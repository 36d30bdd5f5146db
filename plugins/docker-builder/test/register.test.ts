import {expect} from 'chai'
import {fakeToolkit, registeredBuilders} from 'kudev/testing'

import {DockerBuilder} from '../src/builder.js'
import register from '../src/register.js'

describe('docker builder registration', () => {
  it('registers a valid "docker" descriptor whose create() makes a DockerBuilder', async () => {
    const descriptors = await registeredBuilders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['docker'])
    const builder = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(builder.constructor.name).to.equal(DockerBuilder.name)
    expect(builder.name).to.equal('docker')
  })
})
