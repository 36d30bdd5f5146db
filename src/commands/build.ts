import {buildFlags, buildOptions, configFlags, watchFlags} from '../cli/flags.js'
import {KudevCommand} from '../cli/kudev-command.js'

export default class Build extends KudevCommand {
  static override description =
    'Hashes exactly the build context Docker would receive, tags <imageName>:kudev-<hash>, and builds unless an image with that tag and the same full digest exists.'
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build --build-arg VERSION=1.2 --target runtime',
    '<%= config.bin %> build --json',
    '<%= config.bin %> build --watch',
  ]

  static override flags = {...configFlags, ...buildFlags, ...watchFlags}
  static override summary = 'Build the image for this project (skipped when up to date)'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Build)
    const {loadConfig} = await import('../config/index.js')
    const {buildImage} = await import('../pipeline/build.js')
    const {chooseBuilder} = await import('../pipeline/choose.js')
    const {interruptible} = await import('../pipeline/interrupt.js')
    const loadProject = () => loadConfig({config: flags.config, cwd: process.cwd(), dir: flags.dir})
    const options = {...buildOptions(flags), logger: this.logger, oclif: this.config, view: this.stepView()}
    if (flags.watch) {
      const {watchBuild} = await import('../watch/cycles.js')
      return interruptible((signal) =>
        watchBuild(this.watchRequest(loadProject, flags), this.cycleRequest(options), signal),
      )
    }

    const request = {...options, project: await loadProject()}
    const building = await chooseBuilder(request)
    const result = await interruptible((signal) => buildImage(request, building, signal))
    this.print(`${result.image} ${result.id}`)
    return result
  }
}
