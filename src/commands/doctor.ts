import {Flags} from '@oclif/core'

import {configFlags, kubeContextFlag, loadFlags} from '../cli/flags.js'
import {KudevCommand} from '../cli/kudev-command.js'
import {ExitCode} from '../output/errors.js'
import {painter} from '../output/logger.js'

export default class Doctor extends KudevCommand {
  static override description =
    "Checks the .kudev.yaml, the kube context, the builders and loaders that plugins register, the builder's engine and the loader's CLI and cluster. Exits non-zero when a check fails (kudev up could not work), with the exit code of the first failure."
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --kube-context kind-dev --json']
  static override flags = {
    ...configFlags,
    ...kubeContextFlag,
    builder: Flags.string({description: 'Check this builder instead of spec.builder or docker.', helpValue: 'NAME'}),
    loader: Flags.string({
      description: 'Check this loader instead of spec.loader or the detected one.',
      helpValue: 'NAME',
    }),
    registry: loadFlags.registry,
  }
  static override summary = 'Check that kudev can work here'

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Doctor)
    const {runDoctor} = await import('../doctor/checks.js')
    const report = await runDoctor({
      builder: flags.builder,
      configFile: flags.config,
      cwd: process.cwd(),
      dir: flags.dir,
      kubeContext: flags['kube-context'],
      loader: flags.loader,
      logger: this.logger,
      oclif: this.config,
      registry: flags.registry,
    })

    const p = painter(this.logger.color)
    const width = Math.max(...report.checks.map((check) => check.name.length))
    for (const check of report.checks) {
      const [first, ...rest] = check.summary.split('\n')
      this.print(`${check.ok ? '✓' : p.red('✗')} ${check.name.padEnd(width)}  ${first}`)
      for (const line of rest) this.print(`  ${' '.repeat(width)}  ${line}`)
      if (check.hint) this.print(`  ${' '.repeat(width)}  ${p.yellow('hint:')} ${check.hint}`)
    }

    for (const warning of report.warnings) this.print(`${p.yellow('!')} ${warning}`)
    const failed = report.checks.find((check) => !check.ok)
    if (failed) process.exitCode = ExitCode[failed.code ?? 'internal']
    return report
  }
}
