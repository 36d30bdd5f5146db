import {DockerDesktopLoader} from '../src/loader.js'
import register from '../src/register.js'
import {expectLoaderRegistration} from '../../../test/support/registration.js'

describe('Docker Desktop loader registration', () => {
  it('registers a valid "docker-desktop" descriptor with detect, whose create() makes a DockerDesktopLoader', async () => {
    await expectLoaderRegistration(register, 'docker-desktop', DockerDesktopLoader)
  })
})
