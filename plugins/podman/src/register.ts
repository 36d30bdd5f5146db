import type {BuilderDescriptor, BuildersHook} from 'kudev'

const register: BuildersHook = async function () {
  const descriptor: BuilderDescriptor = {
    apiVersion: 1,
    async create(toolkit) {
      // Imported only when `--builder podman` is chosen, so registering costs nothing.
      const {PodmanBuilder} = await import('./builder.js')
      return new PodmanBuilder(toolkit)
    },
    description:
      "Builds with podman (podman build); images stay in podman's store and reach clusters through podman save",
    name: 'podman',
  }
  return descriptor
}

export default register
