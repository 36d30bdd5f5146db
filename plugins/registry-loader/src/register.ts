import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectRegistry} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {RegistryLoader} = await import('./loader.js')
      return new RegistryLoader(toolkit)
    },
    description:
      'Pushes images with docker push (podman push for podman-built ones) to the registry the cluster pulls from (--registry HOST[/PATH] or spec.registry)',
    detect: detectRegistry,
    name: 'registry',
  }
  return descriptor
}

export default register
