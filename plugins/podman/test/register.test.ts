import {expect} from 'chai'
import {fakeToolkit, registeredBuilders} from 'kudev/testing'

import {PodmanBuilder} from '../src/builder.js'
import register from '../src/register.js'

describe('podman plugin registration', () => {
  it('registers a valid "podman" descriptor whose create() makes a builder outside the Docker daemon', async () => {
    const descriptors = await registeredBuilders(register)
    expect(descriptors.map((descriptor) => descriptor.name)).to.deep.equal(['podman'])
    const builder = await descriptors[0]!.create(fakeToolkit())
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(builder.constructor.name).to.equal(PodmanBuilder.name)
    expect(builder.dockerDaemon).to.equal(false)
  })
})
