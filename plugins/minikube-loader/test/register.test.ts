import {expect} from 'chai'

import type {LoaderDescriptor} from '../../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../../src/plugins/contract.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {MinikubeLoader} from '../src/loader.js'
import register from '../src/register.js'
import {fakeToolkit} from '../../../test/support/fake-toolkit.js'

describe('minikube loader registration', () => {
  it('registers a valid "minikube" descriptor with detect, whose create() makes a MinikubeLoader', async () => {
    const descriptor = await register.call({} as never, {apiVersions: SUPPORTED_API_VERSIONS, config: {} as never, context: {} as never, kudevVersion: '0.0.0'}) as LoaderDescriptor
    expect(checkDescriptor(descriptor, 'loader')).to.equal(undefined)
    expect(descriptor.name).to.equal('minikube')
    expect(descriptor.detect).to.be.a('function')
    const loader = await descriptor.create(fakeToolkit(() => undefined))
    expect(loader.constructor.name).to.equal(MinikubeLoader.name)
    expect(loader.name).to.equal('minikube')
  })
})
