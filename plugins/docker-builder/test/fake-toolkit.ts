/**
 * A PluginToolkit whose programs are answered by the test: each `docker …` call goes to `answer`, which
 * returns what the program would have printed. Errors are the core's real KudevError, and a non-zero
 * exit throws as the real exec does unless allowFailure is set.
 */
import type {Readable} from 'node:stream'

import type {ExecOptions, ExecResult} from '../../../src/exec/run.js'
import {KudevError} from '../../../src/output/errors.js'
import type {PluginToolkit} from '../../../src/plugins/contract.js'
import {withSharedHelpers} from '../../../src/toolkit/index.js'
import {settle} from '../../../test/support/fake-toolkit.js'
import {STDERR_NO_BUILDX_28, VERSION_JSON_28} from './texts.js'

export interface Answer {
  exitCode?: number
  stdout?: string
  stderr?: string
}

export type Answerer = (args: string[], options: ExecOptions) => Answer | Promise<Answer>

export interface FakeToolkit extends PluginToolkit {
  /** Every call's arguments, in order. */
  calls: string[][]
  warnings: string[]
  debugs: string[]
}

export function fakeToolkit(
  answer: Answerer,
  stream?: (args: string[]) => {stdout: Readable; done: Promise<ExecResult>},
): FakeToolkit {
  const calls: string[][] = []
  const warnings: string[] = []
  const debugs: string[] = []
  return withSharedHelpers({
    calls,
    debugs,
    error: (kind, message, options) => new KudevError(kind, message, options),
    async exec(file, args, options = {}) {
      calls.push([...args])
      return settle(file, args, await answer([...args], options), options)
    },
    async execStream(_file, args) {
      calls.push([...args])
      if (!stream) throw new Error(`no stream answer for ${args.join(' ')}`)
      return stream([...args])
    },
    logger: {
      debug: (message) => debugs.push(message),
      enabled: () => true,
      info() {},
      warn: (message) => warnings.push(message),
    },
    warnings,
  })
}

/** Answers `docker version` as CLI 28 with a reachable engine, and `docker buildx version` as missing. */
export function engineAnswers(args: string[]): Answer | undefined {
  if (args[0] === 'version') return {stdout: `${VERSION_JSON_28}\n`}
  if (args[0] === 'buildx') return {exitCode: 1, stderr: STDERR_NO_BUILDX_28}
  return undefined
}

export {rejection} from '../../../test/support/fake-toolkit.js'
