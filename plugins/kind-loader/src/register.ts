import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectKind} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {KindLoader} = await import('./loader.js')
      return new KindLoader(toolkit)
    },
    description: 'Loads images into kind clusters (kube contexts kind-<cluster>) with kind load',
    detect: detectKind,
    name: 'kind',
  }
  return descriptor
}

export default register
