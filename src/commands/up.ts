import {
  buildFlags,
  buildOptions,
  configFlags,
  kubeContextFlag,
  loadFlags,
  loadOptions,
  watchFlags,
} from '../cli/flags.js'
import {KudevCommand} from '../cli/kudev-command.js'

export default class Up extends KudevCommand {
  static override description =
    'Builds the image when its tag is new (see `kudev build`), then loads it into the cluster of the kube context unless every node already has it. The loader is detected from the context (kind-*, minikube profiles, docker-desktop) or named with --loader.'
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --kube-context kind-dev',
    '<%= config.bin %> up --loader minikube --json',
    '<%= config.bin %> up --watch',
  ]

  static override flags = {
    ...configFlags,
    ...buildFlags,
    ...kubeContextFlag,
    ...loadFlags,
    ...watchFlags,
  }

  static override summary = 'Build the image and load it into the local cluster'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Up)
    const {loadConfig} = await import('../config/index.js')
    const {interruptible} = await import('../pipeline/interrupt.js')
    const loadProject = () => loadConfig({config: flags.config, cwd: process.cwd(), dir: flags.dir})
    const request = {
      ...buildOptions(flags),
      ...loadOptions(flags),
      logger: this.logger,
      oclif: this.config,
      view: this.stepView(),
    }
    if (flags.watch) {
      const {watchUp} = await import('../watch/cycles.js')
      return interruptible((signal) =>
        watchUp(this.watchRequest(loadProject, flags), this.cycleRequest(request), signal),
      )
    }

    const {up} = await import('../pipeline/up.js')
    const project = await loadProject()
    const result = await interruptible((signal) => up({...request, project}, signal))
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`
    this.logger.info(
      `${result.built ? 'built' : 'up to date'} (${seconds(result.durationsMs.build)}), ${result.loaded ? 'loaded' : 'already loaded'} into ${result.context} with ${result.loader} (${seconds(result.durationsMs.load)}); total ${seconds(result.durationsMs.total)}`,
    )
    // The name to put in manifests: with a registry, the pushed one.
    this.print(`${result.clusterRef ?? result.image} ${result.id}`)
    return result
  }
}
