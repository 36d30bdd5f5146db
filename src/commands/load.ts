import {Args, Flags} from '@oclif/core'

import {configFlags, kubeContextFlag, loadFlags, loadOptions} from '../cli/flags.js'
import {KudevCommand} from '../cli/kudev-command.js'

export default class Load extends KudevCommand {
  static override args = {
    image: Args.string({description: 'Image reference, e.g. myapp:kudev-1a2b3c4d', required: true}),
  }
  static override description =
    'Skips the load when every node already has the image ID. Uses spec.kubeContext and spec.loader from .kudev.yaml when there is one; none is needed.'
  static override examples = [
    '<%= config.bin %> load myapp:kudev-1a2b3c4d',
    '<%= config.bin %> load redis:7 --kube-context kind-dev',
  ]
  static override flags = {
    ...configFlags,
    ...kubeContextFlag,
    builder: Flags.string({
      description: 'Where the image lives: the builder that made it (default docker).',
      helpValue: 'NAME',
    }),
    ...loadFlags,
  }

  static override summary = 'Load an existing local image into the cluster'

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Load)
    const {loadConfig} = await import('../config/index.js')
    const {interruptible} = await import('../pipeline/interrupt.js')
    const {loadExisting} = await import('../pipeline/load-existing.js')
    const project = await loadConfig({config: flags.config, cwd: process.cwd(), dir: flags.dir}).catch(
      (error: unknown) => {
        // Without --config a missing .kudev.yaml is fine here; a broken one is not.
        if (flags.config === undefined && (error as {data?: {searchedFrom?: string}}).data?.searchedFrom)
          return undefined
        throw error
      },
    )
    const result = await interruptible((signal) =>
      loadExisting(
        {
          builder: flags.builder,
          image: args.image,
          ...loadOptions(flags),
          logger: this.logger,
          oclif: this.config,
          project,
          view: this.stepView(),
        },
        signal,
      ),
    )
    // The name to put in manifests: with a registry, the pushed one.
    this.print(`${result.clusterRef ?? result.image} ${result.id}`)
    return result
  }
}
