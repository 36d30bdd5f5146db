import {expect} from 'chai'

import type {BuilderDescriptor} from '../../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../../src/plugins/contract.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {PodmanBuilder} from '../src/builder.js'
import register from '../src/register.js'
import {fakeToolkit} from './fake-toolkit.js'

describe('podman plugin registration', () => {
  it('registers a valid "podman" descriptor whose create() makes a builder outside the Docker daemon', async () => {
    const descriptor = (await register.call({} as never, {
      apiVersions: SUPPORTED_API_VERSIONS,
      config: {} as never,
      context: {} as never,
      kudevVersion: '0.1.0',
    })) as BuilderDescriptor
    expect(checkDescriptor(descriptor, 'builder')).to.equal(undefined)
    expect(descriptor.name).to.equal('podman')
    const builder = await descriptor.create(fakeToolkit(() => ({})))
    // Compared by name: the lazily imported module need not be the instance this test imported.
    expect(builder.constructor.name).to.equal(PodmanBuilder.name)
    expect(builder.dockerDaemon).to.equal(false)
  })
})
