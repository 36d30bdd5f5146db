/**
 * A PluginToolkit whose programs are answered by the test: each call goes to `answer` with the program and
 * its arguments. Errors are the core's real KudevError; a non-zero exit throws as the real exec does unless
 * allowFailure is set.
 */
import type {ExecOptions, ExecResult} from '../../src/exec/run.js'
import {formatCommand} from '../../src/exec/run.js'
import {KudevError} from '../../src/output/errors.js'
import type {PluginToolkit} from '../../src/plugins/contract.js'
import {withSharedHelpers} from '../../src/toolkit/index.js'

export interface Answer {
  exitCode?: number
  stdout?: string
  stderr?: string
}

export type Answerer = (command: string[], options: ExecOptions) => Answer | undefined

export interface FakeToolkit extends PluginToolkit {
  /** Every call as [program, ...arguments], in order. */
  calls: string[][]
  debugs: string[]
}

export function fakeToolkit(answer: Answerer): FakeToolkit {
  const calls: string[][] = []
  const debugs: string[] = []
  return withSharedHelpers({
    calls,
    debugs,
    error: (kind, message, options) => new KudevError(kind, message, options),
    async exec(file, args, options = {}) {
      const command = [file, ...args]
      calls.push(command)
      const found = answer(command, options)
      if (found === undefined) throw new Error(`unexpected command: ${formatCommand(file, args)}`)
      for (const [text = '', stream] of [
        [found.stdout, 'stdout'],
        [found.stderr, 'stderr'],
      ] as const) {
        for (const printed of text.split('\n').filter(Boolean)) options.onLine?.(printed, stream)
      }

      return settle(file, args, found, options)
    },
    async execStream(file, args) {
      throw new Error(`unexpected stream: ${formatCommand(file, args)}`)
    },
    logger: {debug: (message) => debugs.push(message), enabled: () => true, info() {}, warn() {}},
  })
}

/** What the real exec gives for a program that printed `answer`: a non-zero exit throws unless allowFailure. */
export function settle(file: string, args: readonly string[], answer: Answer, options: ExecOptions): ExecResult {
  const {exitCode = 0, stderr = '', stdout = ''} = answer
  const command = formatCommand(file, args)
  if (exitCode !== 0 && !options.allowFailure)
    throw new KudevError(options.errorCode ?? 'internal', `${command} exited with code ${exitCode}`, {
      details: [stderr],
    })
  return {command, exitCode, stderr, stdout}
}

export async function rejection(promise: Promise<unknown>): Promise<KudevError> {
  try {
    await promise
  } catch (error) {
    return error as KudevError
  }

  throw new Error('expected a rejection')
}
