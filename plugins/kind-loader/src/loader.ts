import type {
  ClusterNode,
  Diagnostic,
  ExecResult,
  FullLoadCli,
  ImageRef,
  LackingNodes,
  LoadableImage,
  Loader,
  LoadOptions,
  LoadReport,
  LoadTarget,
  PluginToolkit,
} from 'kudev'
import path from 'node:path'

const KIND = 'kind'
const INSTALL_HINT =
  'install kind: go install sigs.k8s.io/kind@latest, or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation'

/** Loads with the kind CLI, after checking every node itself, and checks every node again afterwards. */
export class KindLoader implements Loader {
  readonly name = 'kind'
  private readonly cli: FullLoadCli
  private readonly lacking: LackingNodes

  constructor(private readonly toolkit: PluginToolkit) {
    this.cli = toolkit.fullLoadCli(KIND, INSTALL_HINT)
    this.lacking = toolkit.lackingNodes()
  }

  /** For `kudev doctor`: the kind CLI's version (needed only for --full-load), and the cluster's nodes. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return Promise.all([
      this.cli.diagnostic(),
      this.toolkit.diagnostic('cluster', async () => {
        const {cluster, nodes} = await this.nodes(target)
        return `kind cluster "${cluster}": ${this.toolkit.describeNodes(nodes.map((node) => node.name))} running`
      }),
    ])
  }

  /** Before a build: the nodes are running, and with --full-load the kind CLI is there. */
  async check(target: LoadTarget, options: LoadOptions = {}): Promise<void> {
    await this.nodes(target)
    if (options.full) await this.cli.require()
  }

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    const {nodes} = await this.nodes(target)
    return (await this.lacking.ask(nodes, image)).length === 0
  }

  /**
   * Sends each node that lacks the image only the layers it lacks (toolkit.loadIntoNodes), which checks
   * every node afterwards. With --full-load, runs the kind CLI as kind users know it, and checks after it.
   */
  async load(
    image: LoadableImage,
    target: LoadTarget,
    signal: AbortSignal,
    options: LoadOptions = {},
  ): Promise<LoadReport> {
    // Asked while the nodes are listed: every load needs it before the save starts.
    const asked = image.inDockerDaemon ? this.toolkit.dockerHost() : undefined
    asked?.catch(() => {})
    const {cluster, nodes} = await this.nodes(target)
    const [host, known] = await Promise.all([asked, options.full ? undefined : this.lacking.forLoad(nodes, image)])
    // kind#3795: with Docker's containerd image store, `docker save` lists every platform of an image but holds
    // only the content Docker has, and an import of every platform fails on the rest. One platform works.
    const platform = host?.containerdStore ? host.platform : undefined
    if (known !== undefined)
      return {
        method: 'trimmed per node',
        nodes: await this.toolkit.loadIntoNodes(image, known, {onProgress: options.onProgress, signal}),
      }

    const ids = new Set([image.id])
    const viaArchive = () =>
      this.toolkit.withTempDir('kudev-kind-', async (dir) => {
        const archive = path.join(dir, 'image.tar')
        await this.toolkit.saveImage(image, archive, signal, platform)
        // Saved for one platform, the archive may name that platform's manifest rather than the ID Docker reports.
        if (platform !== undefined) for (const digest of await this.toolkit.archiveTargets(archive)) ids.add(digest)
        return this.kind(['load', 'image-archive', archive, '--name', cluster], target, signal)
      })
    const fromDaemon = image.inDockerDaemon && platform === undefined
    const loaded = fromDaemon
      ? await this.kind(['load', 'docker-image', image.ref, '--name', cluster], target, signal)
      : await viaArchive()

    await this.cli.verifyLoaded(loaded, {cluster, ids, image, nodes})
    return {
      method: `kind load ${loaded.command.includes('docker-image') ? 'docker-image' : 'image-archive'}`,
      nodes: [],
    }
  }

  /** The cluster's running nodes, or an error that says why there are none to use. */
  private async nodes(target: LoadTarget): Promise<{cluster: string; nodes: ClusterNode[]}> {
    const {cluster} = target.params
    if (!cluster) {
      throw this.toolkit.error('kube', `cannot tell which kind cluster kube context "${target.context}" belongs to`, {
        hint: 'kind names its contexts kind-<cluster>: switch to one (kind get clusters; kubectl config use-context kind-NAME), or set KIND_CLUSTER_NAME',
      })
    }

    const nodes = await this.toolkit.kindNodes(cluster)
    if (nodes.length === 0) throw noNodes(this.toolkit, cluster, target, await this.cli.installed())
    this.toolkit.requireRunning(nodes, `kind cluster "${cluster}" is not running`)
    return {cluster, nodes}
  }

  /** Runs kind (its whole process tree goes on abort: it does not stop its `docker save` / `docker exec`). */
  private async kind(args: string[], target: LoadTarget, signal: AbortSignal): Promise<ExecResult> {
    // -v 1 makes kind print the output of a command that failed (ctr's reason), which the hints below read.
    const result = await this.toolkit.exec(KIND, [...args, '-v', '1'], {
      allowFailure: true,
      errorCode: 'load',
      killTree: true,
      notFoundHint: INSTALL_HINT,
      onLine: (line) => this.toolkit.logger.debug(`kind: ${line}`),
      signal,
    })
    if (result.exitCode !== 0) throw kindFailed(this.toolkit, result, target)
    return result
  }
}

function noNodes(toolkit: PluginToolkit, cluster: string, target: LoadTarget, kindInstalled: boolean): Error {
  const listed = `docker ps -a --filter label=io.x-k8s.kind.cluster lists the kind nodes there are`
  return toolkit.error('load', `no kind nodes found for cluster "${cluster}" (context ${target.context})`, {
    data: {cluster, context: target.context},
    hint: kindInstalled
      ? `is the cluster running? \`kind get clusters\` lists the clusters; \`kind create cluster --name ${cluster}\` creates it`
      : `${listed}; to create the cluster, ${INSTALL_HINT}, then kind create cluster --name ${cluster}`,
  })
}

/** What to do about kind's known failures (its message is the last `ERROR:` line). */
const KNOWN_FAILURES: [RegExp, string][] = [
  [
    /content digest .* not found/,
    "Docker's containerd image store writes archives kind cannot import (https://github.com/kubernetes-sigs/kind/issues/3795): turn the containerd image store off in Docker Desktop's settings, or build with --provenance=false",
  ],
  [
    /image might be filtered out/,
    "the image is built for another platform than the cluster's nodes: build it for theirs (docker info shows the engine's architecture)",
  ],
  [
    /failed to detect containerd snapshotter/,
    'your kind CLI is older than the node image (kind#3871): upgrade it with go install sigs.k8s.io/kind@latest',
  ],
]

function kindFailed(toolkit: PluginToolkit, result: ExecResult, target: LoadTarget): Error {
  const lines = toolkit.lastLines(result.stderr)
  const reason =
    lines
      .filter((line) => line.startsWith('ERROR: '))
      .at(-1)
      ?.slice('ERROR: '.length) ??
    lines.at(-1) ??
    `exit code ${result.exitCode}`
  const cluster = /^no nodes found for cluster "(.*)"$/.exec(reason)?.[1]
  if (cluster !== undefined) return noNodes(toolkit, cluster, target, true)
  const known = KNOWN_FAILURES.find(([pattern]) => pattern.test(result.stderr))
  return toolkit.error('load', `${result.command} failed: ${reason}`, {
    data: {command: result.command, exitCode: result.exitCode},
    details: lines.filter((line) => !line.endsWith(reason)),
    hint: known?.[1] ?? "the lines above are the end of kind's output; rerun with -v to see all of it",
  })
}
