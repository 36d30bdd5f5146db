import {expect} from 'chai'

import type {LoaderDescriptor} from '../../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../../src/plugins/contract.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {DockerDesktopLoader} from '../src/loader.js'
import register from '../src/register.js'
import {fakeToolkit} from '../../../test/support/fake-toolkit.js'

describe('Docker Desktop loader registration', () => {
  it('registers a valid "docker-desktop" descriptor with detect, whose create() makes a DockerDesktopLoader', async () => {
    const descriptor = await register.call({} as never, {apiVersions: SUPPORTED_API_VERSIONS, config: {} as never, context: {} as never, kudevVersion: '0.0.0'}) as LoaderDescriptor
    expect(checkDescriptor(descriptor, 'loader')).to.equal(undefined)
    expect(descriptor.name).to.equal('docker-desktop')
    expect(descriptor.detect).to.be.a('function')
    const loader = await descriptor.create(fakeToolkit(() => undefined))
    expect(loader.constructor.name).to.equal(DockerDesktopLoader.name)
    expect(loader.name).to.equal('docker-desktop')
  })
})
