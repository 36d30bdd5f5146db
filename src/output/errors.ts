/**
 * Every failure a user can see is a KudevError: a one-line message that names the file, field or value,
 * a hint that says what to do, and an exit code from the documented table (docs/exit-codes.md).
 */
export const ExitCode = {
  ok: 0,
  config: 1,
  usage: 2,
  kube: 3,
  plugin: 4,
  engine: 5,
  build: 6,
  load: 7,
  watch: 8,
  internal: 70,
  notFound: 127,
  interrupted: 130,
} as const

export type ExitCodeName = keyof typeof ExitCode

export interface KudevErrorOptions {
  /** What to do next, one line. */
  hint?: string
  /** Extra lines shown under the message (e.g. every validation problem). */
  details?: string[]
  /** Shown only with --verbose. */
  debug?: string[]
  /** Structured data for --json output. */
  data?: Record<string, unknown>
  cause?: unknown
  /** Not a failure but how the command is meant to end (Ctrl-C leaving watch mode): shown as the message alone. */
  expected?: boolean
}

export class KudevError extends Error {
  readonly code: ExitCodeName
  readonly hint?: string
  readonly details: string[]
  readonly debug: string[]
  readonly data?: Record<string, unknown>
  readonly expected: boolean

  constructor(code: ExitCodeName, message: string, options: KudevErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'KudevError'
    this.code = code
    this.hint = options.hint
    this.details = options.details ?? []
    this.debug = options.debug ?? []
    this.data = options.data
    this.expected = options.expected ?? false
  }

  get exitCode(): number {
    return ExitCode[this.code]
  }
}

/** Structural check: errors may cross package boundaries (user-installed plugins), so no instanceof. */
export function isKudevError(error: unknown): error is KudevError {
  return (
    error instanceof Error &&
    error.name === 'KudevError' &&
    typeof (error as KudevError).code === 'string' &&
    (error as KudevError).code in ExitCode
  )
}
