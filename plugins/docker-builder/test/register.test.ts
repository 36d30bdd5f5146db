import {expect} from 'chai'

import type {BuilderDescriptor} from '../../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../../src/plugins/contract.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {DockerBuilder} from '../src/builder.js'
import register from '../src/register.js'
import {fakeToolkit} from './fake-toolkit.js'

describe('docker builder registration', () => {
  it('registers a valid "docker" descriptor whose create() makes a DockerBuilder', async () => {
    const descriptor = (await register.call({} as never, {
      apiVersions: SUPPORTED_API_VERSIONS,
      config: {} as never,
      context: {} as never,
      kudevVersion: '0.0.0',
    })) as BuilderDescriptor
    expect(checkDescriptor(descriptor, 'builder')).to.equal(undefined)
    const builder = await descriptor.create(fakeToolkit(() => ({})))
    // Compared by shape: the lazily imported module is not necessarily the instance this test imported.
    expect(builder.constructor.name).to.equal(DockerBuilder.name)
    expect(builder.name).to.equal('docker')
  })
})
