import {ExitCode, isKudevError, KudevError} from './errors.js'
import type {Logger} from './logger.js'
import {painter} from './logger.js'

interface OclifLikeError extends Error {
  oclif?: {exit?: number}
  code?: string
}

/**
 * Turns anything thrown into a KudevError: ours pass through; oclif's parse errors become usage errors;
 * anything else is a bug in kudev or a plugin and says so.
 */
export function toKudevError(thrown: unknown, command?: string): KudevError {
  if (isKudevError(thrown)) return thrown
  const error: OclifLikeError = thrown instanceof Error ? thrown : new Error(String(thrown))
  const oclifExit = error.oclif?.exit
  const help = command ? `kudev ${command} --help` : 'kudev --help'
  if (oclifExit !== undefined) {
    const lines = error.message
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('See more help'))
    // "The following errors occurred:" says nothing by itself: lead with the first actual error.
    if (lines.length > 1 && lines[0] === 'The following errors occurred:') lines.shift()
    const [first = error.message, ...rest] = lines
    return new KudevError(oclifExit === ExitCode.usage ? 'usage' : 'internal', first, {
      details: rest,
      hint: `see ${help}`,
    })
  }

  return new KudevError('internal', `internal error: ${error.message}`, {
    cause: error,
    debug: error.stack ? [error.stack] : [],
    hint: 'this is a bug; rerun with --verbose and report the output',
  })
}

/** The human form: one-line message, detail lines, hint; debug lines only when verbose. An expected end: the message alone. */
export function renderError(error: KudevError, logger: Logger): string {
  if (error.expected) return `${error.message}\n`
  const p = painter(logger.color)
  const lines = [`${p.red('Error:')} ${error.message}`]
  for (const detail of error.details) lines.push(`  ${detail}`)
  if (error.hint) lines.push(`${p.yellow('Hint:')} ${error.hint}`)
  if (logger.enabled('debug')) for (const line of error.debug) lines.push(p.dim(line))
  return lines.join('\n') + '\n'
}

/** The --json form: the only document on stdout. */
export function errorJson(error: KudevError): {error: Record<string, unknown>} {
  return {
    error: {
      code: error.code,
      exitCode: error.exitCode,
      message: error.message,
      ...(error.hint ? {hint: error.hint} : {}),
      ...(error.details.length > 0 ? {details: error.details} : {}),
      ...error.data,
    },
  }
}
