import type {Config} from '@oclif/core'

import {isKudevError, KudevError} from '../output/errors.js'
import {chooseLogLevel, createLogger} from '../output/logger.js'
import {errorJson, renderError, toKudevError} from '../output/report.js'
import {lastNpmFailure, type NpmLogs} from './npm-log.js'
import {pluginCommandError} from './plugin-errors.js'
import {usageError} from './usage.js'

export interface FailureContext {
  /** The whole command line. */
  argv: string[]
  /** Whether the error goes to stdout as kudev's JSON document. */
  json: boolean
  /** The oclif command that failed (plugins:install), its arguments and config, when it got to run. */
  command?: string
  args?: string[]
  config?: Config
  /** Writes the JSON document as the command writes its results (oclif's logJson). */
  logJson?: (json: unknown) => void
  /** Where npm logged, for `kudev plugins …`. */
  npm?: NpmLogs
  /** bin/run.js's URL, for oclif's config when the failure needs the command list. */
  root?: string
}

interface OclifError extends Error {
  code?: string
  oclif?: {exit?: number}
  parse?: {input?: {context?: {id?: string}}}
}

/**
 * Reports a failure that reached oclif's top level or a non-kudev command, in kudev's form, and answers its
 * exit code. An oclif ExitError has been reported already (KudevCommand throws one after reporting).
 */
export async function reportFailure(thrown: unknown, context: FailureContext): Promise<number> {
  const oclif = thrown as OclifError | undefined
  if (oclif?.code === 'EEXIT' && typeof oclif.oclif?.exit === 'number') return oclif.oclif.exit
  const error = await describeFailure(thrown, context)
  if (context.json) {
    const json = errorJson(error)
    if (context.logJson) context.logJson(json)
    else process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  } else {
    const logger = createLogger(chooseLogLevel({verbose: verboseRequested(context.argv)}))
    process.stderr.write(renderError(error, logger))
  }

  return error.exitCode
}

/** The KudevError for anything thrown: the plugin commands' failures by what they mean, the rest as kudev's own. */
export async function describeFailure(thrown: unknown, context: FailureContext): Promise<KudevError> {
  if (isKudevError(thrown)) return thrown
  const oclif = thrown as OclifError | undefined
  const command = context.command ?? oclif?.parse?.input?.context?.id
  const isParseError = oclif?.parse !== undefined
  if (command?.startsWith('plugins') && !isParseError) {
    const bundled = new Set(
      [...(context.config?.plugins.values() ?? [])].filter((p) => p.type === 'core').map((p) => p.name),
    )
    const error = pluginCommandError(thrown, {
      args: context.args ?? [],
      command,
      isBundled: (name) => bundled.has(name),
      npm: context.npm ? await lastNpmFailure(context.npm) : undefined,
    })
    if (error) return error
  }

  const unknown = /^Command (\S+) not found\.$/.exec(oclif?.message ?? '')
  if (unknown && context.argv[0] === 'help') return helpSubjectNotFound(unknown[1]!, context)
  return usageError(thrown, command) ?? toKudevError(thrown, command?.replaceAll(':', ' '))
}

/** `kudev help biuld` fails as `kudev biuld` does (oclif's help says "Command biuld not found."). */
async function helpSubjectNotFound(id: string, context: FailureContext): Promise<KudevError> {
  const {nearestCommand, notACommand} = await import('../hooks/command-not-found.js')
  const {Config} = await import('@oclif/core')
  const config = context.config ?? (context.root ? await Config.load(context.root).catch(() => undefined) : undefined)
  if (!config) return notACommand(id.replaceAll(':', ' '), undefined)
  const {suggestion, typed} = nearestCommand(config, id)
  return notACommand(typed, suggestion)
}

/** -v or --verbose before any `--` (the plugin commands' own -v shows npm's output), as KudevCommand honours it. */
function verboseRequested(argv: string[]): boolean {
  const end = argv.indexOf('--')
  const words = argv.slice(0, end === -1 ? undefined : end)
  return words.includes('-v') || words.includes('--verbose')
}
