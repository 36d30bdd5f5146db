import {PassThrough, pipeline, type Readable} from 'node:stream'

import type {ExitCodeName} from '../output/errors.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'

export interface ExecOptions {
  cwd?: string
  /** Added to the inherited environment. */
  env?: NodeJS.ProcessEnv
  /** Sent to the program's stdin (a stream is piped, with backpressure). */
  input?: Readable | string | Buffer
  /** Aborting kills the program (SIGTERM, then SIGKILL after 5 s) and rejects with an `interrupted` error. */
  signal?: AbortSignal
  /** Called for every line the program prints, as it prints it (progress views, raw -v output). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Resolve with the result instead of throwing when the program exits non-zero. */
  allowFailure?: boolean
  /** Code of the error when the program fails or is missing; default `internal`. */
  errorCode?: ExitCodeName
  /** Hint shown when the program is not installed (e.g. how to install it). */
  notFoundHint?: string
  /**
   * Run the program in its own process group and, on abort, signal the whole group and wait until it is
   * gone. For programs that start others and do not pass signals on (kind and minikube leave their
   * `docker save` / `docker exec` running when only they are killed).
   */
  killTree?: boolean
}

export interface ExecResult {
  command: string
  exitCode: number
  stdout: string
  stderr: string
}

const TAIL_LINES = 15
/** How long a program may take to stop after SIGTERM before it gets SIGKILL. */
const FORCE_KILL_MS = 5000

/** The command line as a user could paste it into a shell; for logs and error messages only. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`))
    .join(' ')
}

// eslint-disable-next-line no-control-regex -- terminal colour codes start with ESC
const COLOUR_CODE = /\u001B\[[0-9;]*m/g

/** The last lines of a program's output, which is where tools put the reason they failed; without the colour codes some use on a terminal. */
export function lastLines(text: string, count = TAIL_LINES): string[] {
  return text
    .replaceAll(COLOUR_CODE, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-count)
}

/** Loads what runs programs (execa) ahead of a first one that must start without waiting for it. */
export async function loadRunner(): Promise<void> {
  await import('execa')
}

/**
 * Runs a program with an argument array (never a shell), logging its command line at debug level. On
 * failure the error carries the command line, the exit code and the last lines of stderr.
 */
export async function exec(
  logger: Logger,
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const {execa} = await import('execa')
  const command = formatCommand(file, args)
  logger.debug(`$ ${command}`)
  const {onLine} = options
  // execa's line transforms see every line as it arrives and still pass it on to be buffered.
  const tap = (stream: 'stdout' | 'stderr') =>
    function* (line: unknown) {
      onLine?.(String(line), stream)
      yield line
    }

  const child = execa(file, args, {
    ...common(options),
    stderr: tap('stderr'),
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    stdout: tap('stdout'),
  })

  const group = options.killTree ? processGroup(child.pid, options.signal) : undefined
  let inputError: Error | undefined
  if (options.input !== undefined) {
    feed(child.stdin!, options.input, (error) => {
      // A half-sent input must never look complete (a truncated tar is still a valid build context):
      // kill the program before its stdin is closed.
      inputError = error
      child.kill('SIGKILL')
    })
  }

  const result = await child
  await group?.gone()
  if (inputError !== undefined) throw inputError
  return settle(command, result, options)
}

/** What every run shares: abort by signal, the whole group with killTree, SIGKILL after a grace period, no throw on failure. */
function common(options: Omit<ExecOptions, 'onLine' | 'input'>) {
  return {
    cancelSignal: options.signal,
    cleanup: true,
    cwd: options.cwd,
    detached: options.killTree,
    env: options.env,
    forceKillAfterDelay: FORCE_KILL_MS,
    reject: false,
  } as const
}

/**
 * Starts a program whose stdout is consumed as a stream (e.g. `docker save`); `done` settles like exec()
 * once it exits. The caller must consume `stdout`.
 */
export async function execStream(
  logger: Logger,
  file: string,
  args: readonly string[],
  options: Omit<ExecOptions, 'onLine' | 'input'> = {},
): Promise<{stdout: Readable; done: Promise<ExecResult>}> {
  const {execa} = await import('execa')
  const command = formatCommand(file, args)
  logger.debug(`$ ${command}`)
  const child = execa(file, args, {
    ...common(options),
    buffer: {stderr: true, stdout: false},
    stdin: 'ignore',
  })
  const group = options.killTree ? processGroup(child.pid, options.signal) : undefined
  const done = child.then(async (result) => {
    await group?.gone()
    return settle(command, {...result, stdout: ''}, options)
  })
  return {done, stdout: child.stdout!}
}

/**
 * A streamed program's stdout as one stream that ends only once the program exited 0, and fails with its
 * error otherwise: a failed `docker save` can never pass for a complete tar.
 */
export function untilExit({done, stdout}: {stdout: Readable; done: Promise<ExecResult>}): Readable {
  const output = new PassThrough({
    flush(callback) {
      done.then(() => callback(), callback)
    },
  })
  // When the consumer stops reading, the program fails on its closed pipe and nobody waits for `done`.
  done.catch(() => {})
  pipeline(stdout, output, () => {})
  return output
}

interface Finished {
  exitCode?: number
  stdout: unknown
  stderr: unknown
  isCanceled?: boolean
  failed?: boolean
  code?: string
  signal?: string
  originalMessage?: string
}

function settle(command: string, result: Finished, options: ExecOptions): ExecResult {
  const stdout = typeof result.stdout === 'string' ? result.stdout : ''
  const stderr = typeof result.stderr === 'string' ? result.stderr : ''
  const code = options.errorCode ?? 'internal'
  if (result.isCanceled || options.signal?.aborted) {
    throw new KudevError('interrupted', `interrupted: ${command}`, {
      hint: 'nothing was left half-done; run the command again',
    })
  }

  if (result.code === 'ENOENT' && result.exitCode === undefined) throw notInstalled(command.split(' ', 1)[0]!, options)

  const exitCode = result.exitCode ?? -1
  if (exitCode !== 0 && !options.allowFailure) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${exitCode}`
    throw new KudevError(code, `${command} ${how}`, {
      data: {command, exitCode, stderr: lastLines(stderr)},
      details: lastLines(stderr || stdout),
      hint: 'the output above says why; rerun with --verbose to see every command kudev runs',
    })
  }

  return {command, exitCode, stderr, stdout}
}

/** The error of a program that is not on PATH: `data.notFound` tells it from a program that failed. */
export function notInstalled(program: string, options: Pick<ExecOptions, 'errorCode' | 'notFoundHint'>): KudevError {
  return new KudevError(options.errorCode ?? 'internal', `${program} is not installed (not found on PATH)`, {
    data: {notFound: true},
    hint: options.notFoundHint ?? `install ${program}, or put it on PATH`,
  })
}

/**
 * The process group of a program started detached (its pid is the group id): SIGTERM to every member on
 * abort, SIGKILL to what is left FORCE_KILL_MS later (a member that ignores SIGTERM may also hold the
 * program's output pipes open, so this cannot wait for the program to end), and SIGKILL to every member
 * when kudev exits (execa's cleanup skips detached programs).
 */
function processGroup(pid: number | undefined, signal: AbortSignal | undefined): {gone(): Promise<void>} {
  const kill = (name: NodeJS.Signals | 0): boolean => {
    if (pid === undefined) return false
    try {
      process.kill(-pid, name)
      return true
    } catch {
      return false // ESRCH: no member left
    }
  }

  let abortedAt: number | undefined
  let forceKill: NodeJS.Timeout | undefined
  const onExit = () => kill('SIGKILL')
  const onAbort = () => {
    abortedAt = Date.now()
    kill('SIGTERM')
    forceKill = setTimeout(() => kill('SIGKILL'), FORCE_KILL_MS)
  }

  process.once('exit', onExit)
  signal?.addEventListener('abort', onAbort, {once: true})
  if (signal?.aborted) onAbort()
  return {
    /** Called once the program has exited; after an abort, waits for the rest of its group. */
    async gone() {
      signal?.removeEventListener('abort', onAbort)
      if (abortedAt !== undefined) {
        // A dead member stays in the group until it is reaped (by init, its parent being gone): the wait is bounded.
        while (kill(0) && Date.now() < abortedAt + FORCE_KILL_MS)
          await new Promise((resolve) => setTimeout(resolve, 50))
        clearTimeout(forceKill)
        kill('SIGKILL')
      }

      process.off('exit', onExit)
    },
  }
}

function feed(
  stdin: NodeJS.WritableStream,
  input: Readable | string | Buffer,
  onInputError: (error: Error) => void,
): void {
  // A program that exits without reading all its input closes the pipe: that is its answer, not ours to report.
  stdin.on('error', () => {})
  if (typeof input === 'string' || Buffer.isBuffer(input)) stdin.end(input)
  else {
    input.once('error', onInputError)
    input.pipe(stdin)
  }
}
