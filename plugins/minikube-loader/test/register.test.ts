import {MinikubeLoader} from '../src/loader.js'
import register from '../src/register.js'
import {expectLoaderRegistration} from '../../../test/support/registration.js'

describe('minikube loader registration', () => {
  it('registers a valid "minikube" descriptor with detect, whose create() makes a MinikubeLoader', async () => {
    await expectLoaderRegistration(register, 'minikube', MinikubeLoader)
  })
})
