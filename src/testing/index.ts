/**
 * `kudev/testing`: what a plugin's unit tests need to run a builder or loader without the programs it runs.
 * Only tests import it (kudev itself never does, so it costs startup nothing).
 */
import {createRequire} from 'node:module'
import {Readable} from 'node:stream'
import {inspect} from 'node:util'

import type {ExecOptions, ExecResult} from '../exec/run.js'
import {formatCommand, lastLines, notInstalled} from '../exec/run.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {
  BuilderDescriptor,
  BuildersHook,
  LoaderDescriptor,
  LoadersHook,
  PluginToolkit,
  RegistrationOptions,
  Registers,
} from '../plugins/contract.js'
import {SUPPORTED_API_VERSIONS} from '../plugins/contract.js'
import {checkDescriptor} from '../plugins/descriptor.js'
import {pluginToolkit, withSharedHelpers} from '../toolkit/index.js'

/** What a program printed and how it ended. */
export interface Answer {
  /** Default 0. */
  exitCode?: number
  /** Passed to `onLine` line by line and returned in the result without its final newline, as the real exec does. */
  stdout?: string
  stderr?: string
  /** The program exits only once this settles, e.g. to check that a `save()` stream does not end before the program did. */
  exited?: Promise<unknown>
  /** The program is not installed: the call fails as the real exec's does (`data.notFound`, the `notFoundHint`). */
  notFound?: boolean
}

/** Answers a command, `[program, ...arguments]`, as the program would; `undefined` fails the call as unexpected. */
export type Answerer = (command: string[], options: ExecOptions) => Answer | undefined | Promise<Answer | undefined>

export interface Call {
  file: string
  args: string[]
  options: ExecOptions
}

/** What the toolkit's logger was given, by level. */
export interface Logs {
  debug: string[]
  info: string[]
  warn: string[]
  error: string[]
}

export interface TestToolkit extends PluginToolkit {
  logs: Logs
}

export interface FakeToolkit extends TestToolkit {
  /** Every exec and execStream call, in order. */
  calls: Call[]
  /** The same calls as `[program, ...arguments]`. */
  commands: string[][]
}

/**
 * A toolkit whose programs are answered by `answer` (exec, execStream and what runs through them: docker(),
 * kindNodes(), execOutput(), …). It records every call and every log line. Errors are kudev's real
 * KudevError, and a non-zero exit throws as the real exec does unless `allowFailure` is set. `firstTime()`
 * remembers keys in memory, never in kudev's cache.
 */
export function fakeToolkit(answer: Answerer = () => undefined): FakeToolkit {
  const calls: Call[] = []
  const commands: string[][] = []
  const logger = recordingLogger()
  const answered = async (file: string, args: readonly string[], options: ExecOptions): Promise<Answer> => {
    calls.push({args: [...args], file, options})
    commands.push([file, ...args])
    const found = await answer([file, ...args], options)
    if (found === undefined) throw new Error(`unexpected command: ${formatCommand(file, args)}`)
    return found
  }

  const asked = new Set<string>()
  const toolkit = withSharedHelpers({
    calls,
    commands,
    error: (code, message, options) => new KudevError(code, message, options),
    async exec(file, args, options = {}) {
      const found = await answered(file, args, options)
      for (const stream of ['stdout', 'stderr'] as const) {
        for (const line of lines(found[stream])) options.onLine?.(line, stream)
      }

      await found.exited
      return settle(file, args, found, options)
    },
    async execStream(file, args, options = {}) {
      const found = await answered(file, args, options)
      // As the real execStream: stdout is the stream only, not part of the result.
      const done = Promise.resolve(found.exited).then(() => settle(file, args, {...found, stdout: ''}, options))
      return {done, stdout: Readable.from(found.stdout ? [Buffer.from(found.stdout)] : [], {objectMode: false})}
    },
    logger,
    logs: logger.logs,
  })
  // Nodes' platforms are read from a cluster's API server: none here, unless a test says what they are.
  return {
    ...toolkit,
    firstTime: (key) => !asked.has(key) && Boolean(asked.add(key)),
    nodePlatforms: async () => undefined,
  }
}

/** kudev's real toolkit (real programs), whose logger records instead of printing: for tests against the real tools. */
export function realToolkit(): TestToolkit {
  const logger = recordingLogger()
  return {...pluginToolkit(logger), logs: logger.logs}
}

/** Awaits a promise that must fail and returns its error (typed as the KudevError the toolkit's failures are). */
export async function rejection(promise: Promise<unknown>): Promise<KudevError> {
  let value: unknown
  try {
    value = await promise
  } catch (error) {
    return error as KudevError
  }

  throw new Error(`expected a rejection, got ${inspect(value)}`)
}

/** Runs a `kudev:builders` hook as kudev does; fails when kudev would skip one of its descriptors. */
export function registeredBuilders(hook: BuildersHook): Promise<BuilderDescriptor[]> {
  return registered(hook, 'builder')
}

/** Runs a `kudev:loaders` hook as kudev does; fails when kudev would skip one of its descriptors. */
export function registeredLoaders(hook: LoadersHook): Promise<LoaderDescriptor[]> {
  return registered(hook, 'loader')
}

const {version: kudevVersion} = createRequire(import.meta.url)('../../package.json') as {version: string}

/** A registration hook as this file calls it: a hook only returns descriptors, so it gets no oclif context or config. */
type Hook<D> = (this: never, options: RegistrationOptions & {config: never; context: never}) => Promise<Registers<D>>

async function registered<D>(hook: Hook<D>, role: 'builder' | 'loader'): Promise<D[]> {
  const answer = await hook.call({} as never, {
    apiVersions: SUPPORTED_API_VERSIONS,
    config: {} as never,
    context: {} as never,
    kudevVersion,
  })
  const descriptors = Array.isArray(answer) ? answer : [answer]
  for (const descriptor of descriptors) {
    const problem = checkDescriptor(descriptor, role)
    if (problem !== undefined) throw new Error(`kudev would skip this ${role}: ${problem}`)
  }

  return descriptors
}

function recordingLogger(): Logger & {logs: Logs} {
  const logs: Logs = {debug: [], error: [], info: [], warn: []}
  return {
    color: false,
    debug: (message) => logs.debug.push(message),
    enabled: () => true,
    error: (message) => logs.error.push(message),
    info: (message) => logs.info.push(message),
    level: 'debug',
    logs,
    warn: (message) => logs.warn.push(message),
  }
}

/** The lines of a program's output as the real exec passes them to onLine. */
function lines(text = ''): string[] {
  return text === '' ? [] : withoutFinalNewline(text).split(/\r?\n/)
}

/** The real exec's result for a program that answered `answer`: a non-zero exit throws unless allowFailure. */
function settle(file: string, args: readonly string[], answer: Answer, options: ExecOptions): ExecResult {
  const {exitCode = 0, stderr = '', stdout = ''} = answer
  const command = formatCommand(file, args)
  if (answer.notFound) throw notInstalled(command.split(' ', 1)[0]!, options)
  if (exitCode !== 0 && !options.allowFailure) {
    throw new KudevError(options.errorCode ?? 'internal', `${command} exited with code ${exitCode}`, {
      data: {command, exitCode, stderr: lastLines(stderr)},
      details: lastLines(stderr || stdout),
      hint: 'the output above says why; rerun with --verbose to see every command kudev runs',
    })
  }

  return {command, exitCode, stderr: withoutFinalNewline(stderr), stdout: withoutFinalNewline(stdout)}
}

function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '')
}
