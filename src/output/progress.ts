import type {LogStream} from './logger.js'
import {painter} from './logger.js'

export interface StepView {
  /** One line of a subprocess's output (raw mode prints it; the live view keeps only its step). */
  line(text: string): void
  /** What the step is doing now, e.g. `step 3/7: RUN npm ci`. */
  status(text: string): void
  /** Ends the step; the live view leaves one summary line. */
  done(summary: string): void
  /** Ends the step without a summary (the error that follows says why). */
  fail(): void
}

export interface StepViewOptions {
  stream?: LogStream & {columns?: number}
  /** Raw lines instead of a live view: with -v, or when stderr is not a terminal. */
  raw: boolean
  color: boolean
  /** Prefix of raw lines, e.g. `build │ `. */
  prefix: string
  /** Nothing at all except failures (--quiet, or --json on a non-terminal). */
  silent?: boolean
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * Shows a long step (a build, a load) on stderr: on a terminal one live line with the current status and
 * elapsed time, redrawn in place; otherwise every output line, prefixed, as it comes.
 */
export function startStep(title: string, options: StepViewOptions): StepView {
  const stream = options.stream ?? process.stderr
  const p = painter(options.color)
  const started = Date.now()
  if (options.silent) return {done: () => {}, fail: () => {}, line: () => {}, status: () => {}}
  if (options.raw) {
    stream.write(`${title}\n`)
    return {
      done: (summary) => stream.write(`${summary}\n`),
      fail: () => {},
      line: (text) => stream.write(`${p.dim(options.prefix)}${text}\n`),
      status: () => {},
    }
  }

  let current = ''
  let frame = 0
  const draw = () => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1)
    const width = Math.max(20, (stream.columns ?? 80) - 1)
    const text = `${FRAMES[frame++ % FRAMES.length]} ${title}  ${current}`.slice(0, width - elapsed.length - 3)
    stream.write(`\r\u001B[2K${text}  ${p.dim(`${elapsed}s`)}`)
  }

  const timer = setInterval(draw, 100)
  timer.unref()
  draw()
  const stop = () => {
    clearInterval(timer)
    stream.write('\r\u001B[2K')
  }

  return {
    done(summary) {
      stop()
      stream.write(`${summary}\n`)
    },
    fail: stop,
    line() {},
    status(text) {
      current = text
    },
  }
}
