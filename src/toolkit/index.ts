/**
 * The PluginToolkit kudev lends plugins: its logger, subprocess runner and errors, and the helpers in this
 * folder that plugins share (the docker CLI, image archives, image names, kind-style node containers, a
 * failed build's leftovers).
 */
import {diagnostic} from '../doctor/diagnostic.js'
import {exec, execStream, lastLines, untilExit} from '../exec/run.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {BaseToolkit, DockerHost, PluginToolkit} from '../plugins/contract.js'
import {archiveTargets, saveImage, withTempDir} from './archive.js'
import {dropBuildLeftovers} from './build-leftovers.js'
import {docker, dockerHost} from './docker.js'
import {fullLoadCli} from './full-load-cli.js'
import {normalizeRef} from './image-ref.js'
import {loadIntoNodes} from './node-load.js'
import {containerNodes, describeNodes, kindNodes, lackingNodes, nodesWithout, requireRunning} from './nodes.js'
import {firstTime} from './notices.js'

/** What `create()` receives: kudev's logger, subprocess runner and error type, bound to this run. */
export function pluginToolkit(logger: Logger): PluginToolkit {
  return withSharedHelpers({
    error: (code, message, options) => new KudevError(code, message, options),
    exec: (file, args, options) => exec(logger, file, args, options),
    execStream: (file, args, options) => execStream(logger, file, args, options),
    logger,
  })
}

/** The loaders' shared helpers, running their programs through `base`. */
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
    firstTime: (key) => firstTime(key),
    dropBuildLeftovers: (cli, ref, labels, previous) => dropBuildLeftovers(base, cli, ref, labels, previous),
    dockerHost: hostOnce,
    kindNodes: (cluster) => kindNodes(base, cluster),
    containerNodes: (selector, cluster, what) => containerNodes(base, selector, cluster, what),
    archiveTargets: (archive) => archiveTargets(base, archive),
    lastLines: (text) => lastLines(text),
    loadIntoNodes: (image, nodes, options) =>
      loadIntoNodes(base, image, nodes, options, hostOnce, (...args) => saveImage(base, ...args)),
    nodesWithout: (nodes, ref, ids) => nodesWithout(base, nodes, ref, ids, hostOnce),
    lackingNodes: () => lackingNodes(base, hostOnce),
    describeNodes,
    fullLoadCli: (cli, installHint) => fullLoadCli(base, cli, installHint, hostOnce),
    nodePlatforms: (context) => clusterPlatforms(base, context),
    normalizeRef,
    requireRunning: (nodes, what, hint) => requireRunning(base, nodes, what, hint),
    saveImage: (image, file, signal, platform) => saveImage(base, image, file, signal, platform),
    withTempDir,
  }
}

/** The platforms of the context's nodes from its API server; undefined (said under -v) when they cannot be read. */
async function clusterPlatforms(toolkit: BaseToolkit, context: string): Promise<string[] | undefined> {
  const {resolveKubeContext} = await import('../kube/index.js')
  const {nodePlatforms} = await import('../kube/node-platforms.js')
  let found: Awaited<ReturnType<typeof nodePlatforms>>
  try {
    found = await nodePlatforms(await resolveKubeContext({flag: context}))
  } catch (error) {
    found = {unknown: (error as Error).message}
  }

  if ('platforms' in found) return found.platforms
  toolkit.logger.debug(
    `kube context "${context}": ${found.unknown}; the image's platform is not checked against the nodes'`,
  )
  return undefined
}
