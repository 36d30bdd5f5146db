/** What every loader plugin's registration test checks: the hook's descriptor is valid and makes its loader. */
import {expect} from 'chai'

import type {LoaderDescriptor, LoadersHook} from '../../src/plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../../src/plugins/contract.js'
import {checkDescriptor} from '../../src/plugins/descriptor.js'
import {fakeToolkit} from './fake-toolkit.js'

export async function expectLoaderRegistration(
  register: LoadersHook,
  name: string,
  loaderClass: {name: string},
): Promise<void> {
  const descriptor = (await register.call({} as never, {
    apiVersions: SUPPORTED_API_VERSIONS,
    config: {} as never,
    context: {} as never,
    kudevVersion: '0.0.0',
  })) as LoaderDescriptor
  expect(checkDescriptor(descriptor, 'loader')).to.equal(undefined)
  expect(descriptor.name).to.equal(name)
  expect(descriptor.detect).to.be.a('function')
  const loader = await descriptor.create(fakeToolkit(() => undefined))
  // Compared by name: the lazily imported module is not necessarily the instance the test imported.
  expect(loader.constructor.name).to.equal(loaderClass.name)
  expect(loader.name).to.equal(name)
}
