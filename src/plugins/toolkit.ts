import {diagnostic} from '../doctor/diagnostic.js'
import {exec, execStream, lastLines, untilExit} from '../exec/run.js'
import {saveImage, withTempDir} from '../load/archive.js'
import {docker, dockerHost} from '../load/docker.js'
import {normalizeRef} from '../load/image-ref.js'
import {kindNodes, nodesWithout, requireRunning} from '../load/nodes.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {BaseToolkit, DockerHost, PluginToolkit} from './contract.js'

/** What `create()` receives: kudev's logger, subprocess runner and error type, bound to this run. */
export function pluginToolkit(logger: Logger): PluginToolkit {
  return withSharedHelpers({
    error: (code, message, options) => new KudevError(code, message, options),
    exec: (file, args, options) => exec(logger, file, args, options),
    execStream: (file, args, options) => execStream(logger, file, args, options),
    logger,
  })
}

/** The loaders' shared helpers (src/load/), running their programs through `base`. */
export function withSharedHelpers<T extends BaseToolkit>(base: T): Omit<T, keyof PluginToolkit> & PluginToolkit {
  let host: Promise<DockerHost> | undefined
  const hostOnce = () => {
    host ??= dockerHost(base)
    return host
  }

  return {
    ...base,
    diagnostic,
    docker: (args, doing, options) => docker(base, args, doing, options),
    execOutput: async (file, args, options) => untilExit(await base.execStream(file, args, options)),
    dockerHost: hostOnce,
    kindNodes: (cluster) => kindNodes(base, cluster),
    lastLines: (text) => lastLines(text),
    nodesWithout: (nodes, ref, ids) => nodesWithout(base, nodes, ref, ids, hostOnce),
    normalizeRef,
    requireRunning: (nodes, what, hint) => requireRunning(base, nodes, what, hint),
    saveImage: (image, file, signal, platform) => saveImage(base, image, file, signal, platform),
    withTempDir,
  }
}
