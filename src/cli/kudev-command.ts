import {Command, Errors, Interfaces} from '@oclif/core'

import type {ProjectConfig} from '../config/index.js'
import type {Logger} from '../output/logger.js'
import {chooseLogLevel, createLogger} from '../output/logger.js'
import {errorJson, renderError, toKudevError} from '../output/report.js'
import type {WatchRequest} from '../watch/cycles.js'
import {DEFAULT_QUIET_MS} from '../watch/defaults.js'
import {outputFlags} from './flags.js'
import {usageError} from './usage.js'

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
  /** Set by watchRequest(): this run prints JSON lines, not one document. */
  private watching = false

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

  /**
   * What --watch needs from the command: reading the project, printing each cycle (with --json, one JSON
   * object per line), and showing a failed cycle's error as this command shows errors.
   */
  protected watchRequest(
    loadProject: () => Promise<ProjectConfig>,
    flags: {poll?: number; 'quiet-period'?: number},
  ): WatchRequest {
    this.watching = true
    return {
      json: this.jsonEnabled(),
      loadProject,
      logger: this.logger,
      pollMs: flags.poll,
      print: (text) => process.stdout.write(`${text}\n`),
      quietMs: flags['quiet-period'] ?? DEFAULT_QUIET_MS,
      render: (error) => renderError(error, this.logger),
    }
  }

  /** A watch cycle's pipeline logs only warnings (and everything with -v), and shows build output only with -v. */
  protected cycleRequest<R extends {logger: Logger; view: ReturnType<KudevCommand['stepView']>}>(request: R): R {
    if (this.logger.enabled('debug')) return request
    return {...request, logger: createLogger('warn'), view: {...request.view, silent: true}}
  }

  protected override async catch(thrown: Interfaces.CommandError): Promise<never> {
    // The verbose flag may not have been parsed (the parse itself failed): honour it from argv.
    if (this.argv.includes('--verbose') || this.argv.includes('-v')) this.logger = createLogger('debug')
    const error = usageError(thrown, this.id) ?? toKudevError(thrown, this.id)
    // A watch's --json output is one object per line, the last one too.
    if (this.jsonEnabled() && this.watching) process.stdout.write(`${JSON.stringify(errorJson(error))}\n`)
    else if (this.jsonEnabled()) this.logJson(errorJson(error))
    else process.stderr.write(renderError(error, this.logger))
    throw new Errors.ExitError(error.exitCode)
  }
}
