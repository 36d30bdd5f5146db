import {KudevCommand} from '../cli/kudev-command.js'

export default class Doctor extends KudevCommand {
  static override summary = 'Check that kudev can work here'

  async run(): Promise<unknown> {
    await this.parse(Doctor)
    const {collectBuilders, collectLoaders} = await import('../plugins/resolver.js')
    const builders = await collectBuilders(this.config, {logger: this.logger})
    const loaders = await collectLoaders(this.config, {logger: this.logger})
    this.print(JSON.stringify({builders, loaders}))
    return {builders, loaders}
  }
}
