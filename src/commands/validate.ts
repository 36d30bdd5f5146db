import {KudevCommand} from '../cli/kudev-command.js'
import {configFlags} from '../cli/flags.js'

export default class Validate extends KudevCommand {
  static override description =
    'Reports every problem at once, each with its file:line:col, and exits 1 when there is any.'
  static override examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate --config deploy/.kudev.yaml',
    '<%= config.bin %> validate -C services/api --json',
  ]
  static override flags = configFlags
  static override summary = 'Check a .kudev.yaml file'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Validate)
    const {loadConfig} = await import('../config/index.js')
    const project = await loadConfig({config: flags.config, cwd: process.cwd(), dir: flags.dir})
    this.print(`${project.file}: valid (image ${project.config.spec.imageName}, build context ${project.buildContext})`)
    return {
      buildContext: project.buildContext,
      config: project.config,
      dockerfile: project.dockerfile,
      file: project.file,
      valid: true,
    }
  }
}
