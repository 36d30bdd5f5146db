import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectK3d} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {K3dLoader} = await import('./loader.js')
      return new K3dLoader(toolkit)
    },
    description: 'Loads images into k3d clusters (kube contexts k3d-<cluster>) with k3d image import',
    detect: detectK3d,
    name: 'k3d',
  }
  return descriptor
}

export default register
