import type {BuilderDescriptor, BuildersHook} from 'kudev'

const register: BuildersHook = async function () {
  const descriptor: BuilderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      const {DockerBuilder} = await import('./builder.js')
      return new DockerBuilder(toolkit)
    },
    description: 'Builds with the Docker engine (docker build; BuildKit or the classic builder)',
    name: 'docker',
  }
  return descriptor
}

export default register
