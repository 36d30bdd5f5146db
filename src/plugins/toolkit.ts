import {exec, execStream} from '../exec/run.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {PluginToolkit} from './contract.js'

/** What `create()` receives: kudev's logger, subprocess runner and error type, bound to this run. */
export function pluginToolkit(logger: Logger): PluginToolkit {
  return {
    error: (kind, message, options) => new KudevError(kind, message, options),
    exec: (file, args, options) => exec(logger, file, args, options),
    execStream: (file, args, options) => execStream(logger, file, args, options),
    logger,
  }
}
