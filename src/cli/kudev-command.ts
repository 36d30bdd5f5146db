import {Command, Errors, Interfaces} from '@oclif/core'

import type {Logger} from '../output/logger.js'
import {chooseLogLevel, createLogger} from '../output/logger.js'
import {errorJson, renderError, toKudevError} from '../output/report.js'
import {outputFlags} from './flags.js'

// oclif's own (unexported) FlagOutput and ArgOutput.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Output = {[name: string]: any}

/**
 * Base of every kudev command: the output flags, a logger on stderr chosen from them, and the one place
 * errors become a message, a hint and an exit code (docs/exit-codes.md).
 */
export abstract class KudevCommand extends Command {
  static override baseFlags = outputFlags
  static override enableJsonFlag = true

  protected logger: Logger = createLogger(chooseLogLevel({}))

  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const flags = parsed.flags as {'log-level'?: string; quiet?: boolean; verbose?: boolean}
    this.logger = createLogger(
      chooseLogLevel({logLevel: flags['log-level'], quiet: flags.quiet, verbose: flags.verbose}),
    )
    return parsed
  }

  /** How long steps show on stderr: a live line on a terminal; raw lines with -v or off a terminal; nothing with -q. */
  protected stepView(): {color: boolean; raw: boolean; silent: boolean} {
    return {
      color: this.logger.color,
      raw: this.logger.enabled('debug') || !process.stderr.isTTY,
      silent: !this.logger.enabled('info'),
    }
  }

  /** Results go to stdout, and only when --json is off. */
  protected print(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  protected override async catch(thrown: Interfaces.CommandError): Promise<never> {
    // The verbose flag may not have been parsed (the parse itself failed): honour it from argv.
    if (this.argv.includes('--verbose') || this.argv.includes('-v')) this.logger = createLogger('debug')
    const error = toKudevError(thrown, this.id)
    if (this.jsonEnabled()) this.logJson(errorJson(error))
    else process.stderr.write(renderError(error, this.logger))
    throw new Errors.ExitError(error.exitCode)
  }
}
