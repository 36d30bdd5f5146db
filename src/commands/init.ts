import {Flags} from '@oclif/core'

import {KudevCommand} from '../cli/kudev-command.js'

export default class Init extends KudevCommand {
  static override description =
    'Every field is written with a short comment; optional ones are commented out. Refuses to replace an existing file unless --force is given.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --name shop-api -C services/api']
  static override flags = {
    dir: Flags.string({
      char: 'C',
      description: 'Write the file in DIR instead of the working folder.',
      helpValue: 'DIR',
    }),
    force: Flags.boolean({description: 'Replace an existing .kudev.yaml.'}),
    name: Flags.string({
      description: 'Project name (metadata.name and spec.imageName); default: derived from the folder name.',
    }),
  }

  static override summary = 'Write a commented starter .kudev.yaml'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Init)
    const {writeStarterConfig} = await import('../config/init.js')
    const written = await writeStarterConfig({cwd: process.cwd(), dir: flags.dir, force: flags.force, name: flags.name})
    this.print(`wrote ${written.file}`)
    if (!written.dockerfileExists)
      this.logger.warn(`no Dockerfile at ${written.dockerfile} yet: create one before building`)
    return written
  }
}
