/**
 * What bin/run.js and bin/dev.js run: oclif, with every failure that kudev's own commands do not report
 * themselves (the bundled oclif plugins' commands, a command that does not exist, a plugin that breaks the
 * start) reported in kudev's form: one line, a hint, an exit code from docs/exit-codes.md.
 *
 * Startup: nothing here is imported before oclif but node's own modules; error reporting is imported only
 * when something failed, oclif's Command class only for `kudev plugins …` or `--json` (a command run loads
 * it anyway; `kudev --help` does not).
 */
import {createRequire} from 'node:module'

import type {NpmLogs} from './npm-log.js'

export interface MainOptions {
  argv: string[]
  /** bin/run.js's URL: oclif finds kudev's package.json from it. */
  dir: string
  /** bin/dev.js: oclif maps dist/ to src/. */
  development?: boolean
}

/** Runs the command line and answers the exit code: 0, or the documented code of what failed. */
export async function main({argv, development = false, dir}: MainOptions): Promise<number> {
  // oclif checks its own engines range with semver when imported (10 ms of every start); npm checks kudev's.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const plugins = isPluginsCommand(argv)
  let npm: NpmLogs | undefined
  try {
    if (plugins) npm = (await import('./npm-log.js')).watchNpm()
    if (plugins || jsonRequested(argv)) await reportInOclifCommands(argv, npm)
    if (development) {
      // What oclif's execute() does for a development run.
      process.env.NODE_ENV = 'development'
      const {settings} = await import('@oclif/core/settings')
      settings.debug = true
    }

    // require, not import(): oclif is CommonJS, and import() first parses each module for its export names
    // (about 4 ms of every start).
    const require = createRequire(import.meta.url)
    const {run} = require('@oclif/core/run') as typeof import('@oclif/core/run')
    await run(argv, dir)
    const {flush} = require('@oclif/core/flush') as typeof import('@oclif/core/flush')
    await flush()
    return Number(process.exitCode ?? 0)
  } catch (thrown) {
    const {reportFailure} = await import('./failure.js')
    return reportFailure(thrown, {argv, json: jsonRequested(argv), npm, root: dir})
  } finally {
    npm?.dispose()
  }
}

/** `kudev plugins …` (also oclif's `plugins:install` spelling): commands of @oclif/plugin-plugins. */
export function isPluginsCommand(argv: string[]): boolean {
  return argv[0] === 'plugins' || argv[0]?.startsWith('plugins:') === true
}

/** --json before any `--`, or KUDEV_CONTENT_TYPE=json, as oclif decides it. */
export function jsonRequested(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.KUDEV_CONTENT_TYPE?.toLowerCase() === 'json') return true
  const end = argv.indexOf('--')
  return argv.slice(0, end === -1 ? undefined : end).includes('--json')
}

/**
 * Commands that are not kudev's (KudevCommand reports its own errors) report theirs as KudevCommand does,
 * --json included: oclif's Command.catch would print oclif's own JSON and swallow the error.
 */
async function reportInOclifCommands(argv: string[], npm: NpmLogs | undefined): Promise<void> {
  const [{Command}, {ExitError}, {ux}, {stripVTControlCharacters}] = await Promise.all([
    import('@oclif/core/command'),
    import('@oclif/core/errors'),
    import('@oclif/core/ux'),
    import('node:util'),
  ])
  const prototype = Command.prototype as unknown as {catch: (this: InstanceType<typeof Command>, e: Error) => unknown}
  const {log} = Command.prototype
  Command.prototype.log = function (message?: string, ...args: unknown[]): void {
    // `plugins inspect` of a plugin that is not installed prints "failed" on stdout before rethrowing: stdout
    // carries only results, and the error that follows on stderr says what failed.
    const failed = typeof message === 'string' && stripVTControlCharacters(message) === 'failed'
    if (failed && this.id === 'plugins:inspect') return
    log.call(this, message, ...args)
  }

  prototype.catch = async function (thrown: Error): Promise<never> {
    // A spinner the command left running ("Linking plugin …") ends on its own line before the error.
    ux.action.stop('failed')
    const {reportFailure} = await import('./failure.js')
    const code = await reportFailure(thrown, {
      args: this.argv,
      argv,
      command: this.id,
      config: this.config,
      json: this.jsonEnabled(),
      logJson: (json) => this.logJson(json),
      npm,
    })
    throw new ExitError(code)
  }
}
