import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectMicrok8s} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {Microk8sLoader} = await import('./loader.js')
      return new Microk8sLoader(toolkit)
    },
    description: 'Loads images into MicroK8s (context microk8s, cluster microk8s-cluster) with microk8s images import',
    detect: detectMicrok8s,
    name: 'microk8s',
  }
  return descriptor
}

export default register
