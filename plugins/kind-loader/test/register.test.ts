import {KindLoader} from '../src/loader.js'
import register from '../src/register.js'
import {expectLoaderRegistration} from '../../../test/support/registration.js'

describe('kind loader registration', () => {
  it('registers a valid "kind" descriptor with detect, whose create() makes a KindLoader', async () => {
    await expectLoaderRegistration(register, 'kind', KindLoader)
  })
})
