/** Logs and progress go to stderr; stdout is reserved for results (and the one JSON document of --json). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Logger {
  readonly level: LogLevel
  readonly color: boolean
  error(message: string): void
  warn(message: string): void
  info(message: string): void
  debug(message: string): void
  enabled(level: LogLevel): boolean
}

export interface LogStream {
  write(chunk: string): unknown
  isTTY?: boolean
}

/** NO_COLOR (any non-empty value) wins, then FORCE_COLOR; otherwise colour only on a terminal that is not dumb. */
export function colorEnabled(stream: LogStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  return Boolean(stream.isTTY) && env.TERM !== 'dumb'
}

export interface LevelChoice {
  logLevel?: string
  verbose?: boolean
  quiet?: boolean
  env?: NodeJS.ProcessEnv
}

/** Flags beat the environment: --verbose / --quiet, then --log-level, then KUDEV_LOG_LEVEL, then info. */
export function chooseLogLevel({logLevel, verbose, quiet, env = process.env}: LevelChoice): LogLevel {
  if (verbose) return 'debug'
  if (quiet) return 'error'
  const wanted = logLevel ?? env.KUDEV_LOG_LEVEL
  return isLogLevel(wanted) ? wanted : 'info'
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)
}

const paint = {
  dim: (text: string) => `\u001B[2m${text}\u001B[22m`,
  red: (text: string) => `\u001B[31m${text}\u001B[39m`,
  yellow: (text: string) => `\u001B[33m${text}\u001B[39m`,
}

export type Paint = typeof paint

/** Colours that vanish when colour is off, so callers never branch on it. */
export function painter(color: boolean): Paint {
  if (color) return paint
  const plain = (text: string) => text
  return {dim: plain, red: plain, yellow: plain}
}

export function createLogger(
  level: LogLevel,
  stream: LogStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Logger {
  const color = colorEnabled(stream, env)
  const p = painter(color)
  const rank = LOG_LEVELS.indexOf(level)
  const enabled = (wanted: LogLevel) => LOG_LEVELS.indexOf(wanted) <= rank
  const emit = (wanted: LogLevel, text: string) => {
    if (enabled(wanted)) stream.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  return {
    color,
    level,
    enabled,
    debug: (message) => emit('debug', p.dim(`debug: ${message}`)),
    error: (message) => emit('error', `${p.red('Error:')} ${message}`),
    info: (message) => emit('info', message),
    warn: (message) => emit('warn', `${p.yellow('Warning:')} ${message}`),
  }
}
