import {expect} from 'chai'

import type {LoaderDescriptor} from '../../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../../src/plugins/contract.js'
import {checkDescriptor} from '../../../src/plugins/descriptor.js'
import {KindLoader} from '../src/loader.js'
import register from '../src/register.js'
import {fakeToolkit} from '../../../test/support/fake-toolkit.js'

describe('kind loader registration', () => {
  it('registers a valid "kind" descriptor with detect, whose create() makes a KindLoader', async () => {
    const descriptor = await register.call({} as never, {apiVersions: SUPPORTED_API_VERSIONS, config: {} as never, context: {} as never, kudevVersion: '0.0.0'}) as LoaderDescriptor
    expect(checkDescriptor(descriptor, 'loader')).to.equal(undefined)
    expect(descriptor.name).to.equal('kind')
    expect(descriptor.detect).to.be.a('function')
    const loader = await descriptor.create(fakeToolkit(() => undefined))
    // Compared by shape: the lazily imported module is not necessarily the instance this test imported.
    expect(loader.constructor.name).to.equal(KindLoader.name)
    expect(loader.name).to.equal('kind')
  })
})
