/**
 * A PluginToolkit whose `podman` is the test: every call goes to `answer`, which returns what podman would
 * have printed (and may act, e.g. write the --iidfile). Errors are the core's real KudevError, and a
 * non-zero exit throws as the real exec does unless allowFailure is set.
 */
import type {Readable} from 'node:stream'

import type {ExecOptions, ExecResult} from '../../../src/exec/run.js'
import {KudevError} from '../../../src/output/errors.js'
import type {PluginToolkit} from '../../../src/plugins/contract.js'
import {withSharedHelpers} from '../../../src/toolkit/index.js'
import {settle} from '../../../test/support/fake-toolkit.js'

export interface Answer {
  exitCode?: number
  stdout?: string
  stderr?: string
  /** Lines podman prints while it runs, in order (passed to onLine). */
  lines?: string[]
}

export interface Call {
  args: string[]
  options: ExecOptions
}

export interface FakeToolkit extends PluginToolkit {
  calls: Call[]
  warnings: string[]
}

export function fakeToolkit(
  answer: (args: string[], options: ExecOptions) => Answer | Promise<Answer>,
  stream?: (args: string[]) => {stdout: Readable; done: Promise<ExecResult>},
): FakeToolkit {
  const calls: Call[] = []
  const warnings: string[] = []
  return withSharedHelpers({
    calls,
    error: (kind, message, options) => new KudevError(kind, message, options),
    async exec(file, args, options = {}) {
      calls.push({args: [...args], options})
      const answered = await answer([...args], options)
      for (const line of answered.lines ?? []) options.onLine?.(line, 'stdout')
      return settle(file, args, answered, options)
    },
    async execStream(_file, args, options = {}) {
      calls.push({args: [...args], options})
      if (!stream) throw new Error(`no stream answer for ${args.join(' ')}`)
      return stream([...args])
    },
    logger: {debug() {}, enabled: () => true, info() {}, warn: (message) => warnings.push(message)},
    warnings,
  })
}

export {rejection} from '../../../test/support/fake-toolkit.js'
