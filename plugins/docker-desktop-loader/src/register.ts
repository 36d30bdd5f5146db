import type {LoaderDescriptor, LoadersHook} from 'kudev'

import {detectDockerDesktop} from './detect.js'

const register: LoadersHook = async function () {
  const descriptor: LoaderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {DockerDesktopLoader} = await import('./loader.js')
      return new DockerDesktopLoader(toolkit)
    },
    description:
      "Makes images available to Docker Desktop's Kubernetes (nothing to do with kubeadm; imports into the nodes of the kind-based cluster)",
    detect: detectDockerDesktop,
    name: 'docker-desktop',
  }
  return descriptor
}

export default register
