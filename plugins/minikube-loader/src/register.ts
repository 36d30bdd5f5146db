import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectMinikube} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {MinikubeLoader} = await import('./loader.js')
      return new MinikubeLoader(toolkit)
    },
    description:
      'Loads images into minikube profiles (contexts minikube wrote): into their node containers on the docker/podman drivers with containerd, else with minikube image load',
    detect: detectMinikube,
    name: 'minikube',
  }
  return descriptor
}

export default register
