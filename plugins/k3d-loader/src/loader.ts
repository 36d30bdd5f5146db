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
  NodeSelector,
  PluginToolkit,
} from 'kudev'
import path from 'node:path'

const K3D = 'k3d'
const INSTALL_HINT = 'install k3d: https://k3d.io/#installation'
/** k3d's node labels and the roles that run a kubelet (k3d-io/k3d pkg/types/types.go: LabelClusterName, LabelRole, ServerRole, AgentRole). */
const K3D_NODES: NodeSelector = {label: 'k3d.cluster', roleLabel: 'k3d.role', roles: ['server', 'agent']}

/**
 * Loads into the k3s nodes itself, or with --full-load through `k3d image import`, and checks every node
 * afterwards.
 *
 * The trimmed load runs `ctr --namespace=k8s.io …` in each node (toolkit.loadIntoNodes). In k3d's node image
 * (rancher/k3s) `ctr` and `containerd` are links to the k3s multicall binary (k3s-io/k3s scripts/build,
 * k3s_binaries; cmd/server/main.go registers them with reexec), and k3s's ctr defaults --address to
 * /run/k3s/containerd/containerd.sock and --namespace to k8s.io (k3s-io/k3s pkg/ctr/main.go), so the
 * toolkit's commands reach the kubelet's containerd without an address option.
 */
export class K3dLoader implements Loader {
  readonly name = 'k3d'
  private readonly cli: FullLoadCli
  private readonly lacking: LackingNodes

  constructor(private readonly toolkit: PluginToolkit) {
    this.cli = toolkit.fullLoadCli(K3D, INSTALL_HINT)
    this.lacking = toolkit.lackingNodes()
  }

  /** For `kudev doctor`: the k3d CLI's version (needed only for --full-load), and the cluster's nodes. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return Promise.all([
      this.cli.diagnostic(),
      this.toolkit.diagnostic('cluster', async () => {
        const {cluster, nodes} = await this.nodes(target)
        return `k3d cluster "${cluster}": ${this.toolkit.describeNodes(nodes.map((node) => node.name))} running`
      }),
    ])
  }

  /** Before a build: the nodes are running, and with --full-load the k3d CLI is there. */
  async check(target: LoadTarget, options: LoadOptions = {}): Promise<void> {
    await this.nodes(target)
    if (options.full) await this.cli.require()
  }

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    const {nodes} = await this.nodes(target)
    return (await this.lacking.ask(nodes, image)).length === 0
  }

  /**
   * Sends each node that lacks the image only the layers it lacks (toolkit.loadIntoNodes, which checks every
   * node afterwards). With --full-load, runs `k3d image import` and checks every node itself: k3d's tools-node
   * import only logs a node's failed `ctr image import` and still exits 0 (k3d-io/k3d pkg/client/tools.go,
   * importWithToolsNode).
   */
  async load(
    image: LoadableImage,
    target: LoadTarget,
    signal: AbortSignal,
    options: LoadOptions = {},
  ): Promise<LoadReport> {
    const {cluster, nodes} = await this.nodes(target)
    if (!options.full) {
      const lacking = await this.lacking.forLoad(nodes, image)
      return {
        method: 'trimmed per node',
        nodes: await this.toolkit.loadIntoNodes(image, lacking, {onProgress: options.onProgress, signal}),
      }
    }

    const host = image.inDockerDaemon ? await this.toolkit.dockerHost() : undefined
    // kind#3795 applies to k3d too: its tools node runs `docker save` and then `ctr image import --all-platforms`,
    // which fails on the platforms Docker's containerd image store lists without holding them. One platform works.
    const platform = host?.containerdStore ? host.platform : undefined
    const ids = new Set([image.id])
    const loaded =
      image.inDockerDaemon && platform === undefined
        ? await this.import(image.ref, cluster, target, signal)
        : await this.toolkit.withTempDir('kudev-k3d-', async (dir) => {
            // A file argument always wins over an image name in `k3d image import` (cmd/image/imageImport.go).
            const archive = path.join(dir, 'image.tar')
            await this.toolkit.saveImage(image, archive, signal, platform)
            if (platform !== undefined) for (const digest of await this.toolkit.archiveTargets(archive)) ids.add(digest)
            return this.import(archive, cluster, target, signal)
          })

    await this.cli.verifyLoaded(loaded, {cluster, ids, image, nodes})
    return {method: 'k3d image import', nodes: []}
  }

  /**
   * The cluster's server and agent nodes, running, or an error that says why there are none to use. The
   * load balancer and the tools node (role noRole) carry the cluster label too but run no kubelet; k3d skips
   * them the same way (pkg/client/tools.go, loadImageFromStream and importWithToolsNode).
   */
  private async nodes(target: LoadTarget): Promise<{cluster: string; nodes: ClusterNode[]}> {
    const {cluster} = target.params
    if (!cluster) {
      throw this.toolkit.error('kube', `cannot tell which k3d cluster kube context "${target.context}" belongs to`, {
        hint: 'k3d names its contexts k3d-<cluster>: switch to one (k3d cluster list; kubectl config use-context k3d-NAME)',
      })
    }

    const nodes = await this.toolkit.containerNodes(K3D_NODES, cluster, `k3d cluster "${cluster}"`)
    if (nodes.length === 0) throw noNodes(this.toolkit, cluster, target, await this.cli.installed())
    this.toolkit.requireRunning(
      nodes,
      `k3d cluster "${cluster}" is not running`,
      `start it: k3d cluster start ${cluster}`,
    )
    return {cluster, nodes}
  }

  /** `k3d image import -c CLUSTER IMAGE|ARCHIVE` (its whole process tree goes on abort: it runs docker itself). */
  private async import(
    imageOrArchive: string,
    cluster: string,
    target: LoadTarget,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    const result = await this.toolkit.exec(K3D, ['image', 'import', '-c', cluster, imageOrArchive], {
      allowFailure: true,
      errorCode: 'load',
      killTree: true,
      notFoundHint: INSTALL_HINT,
      onLine: (line) => this.toolkit.logger.debug(`k3d: ${line}`),
      signal,
    })
    if (result.exitCode !== 0) throw k3dFailed(this.toolkit, result, cluster, target)
    return result
  }
}

function noNodes(toolkit: PluginToolkit, cluster: string, target: LoadTarget, k3dInstalled: boolean): Error {
  return toolkit.error('load', `no k3d nodes found for cluster "${cluster}" (context ${target.context})`, {
    data: {cluster, context: target.context},
    hint: k3dInstalled
      ? `does the cluster exist? \`k3d cluster list\` lists the clusters; \`k3d cluster create ${cluster}\` creates it`
      : `docker ps -a --filter label=${K3D_NODES.label} lists the k3d nodes there are; to create the cluster, ${INSTALL_HINT}, then k3d cluster create ${cluster}`,
  })
}

/**
 * k3d logs through logrus (`ERRO[0000] …`, `FATA[0000] …`, cmd/root.go initLogging): the reason is the last
 * FATA or ERRO line. A cluster without nodes is k3d's ClusterGetNoNodesFoundError (pkg/client/cluster.go).
 */
function k3dFailed(toolkit: PluginToolkit, result: ExecResult, cluster: string, target: LoadTarget): Error {
  const lines = toolkit.lastLines(`${result.stdout}\n${result.stderr}`)
  const logged = lines
    .map((line) => /^(?:FATA|ERRO)\[\d+\] (.*)$/.exec(line)?.[1])
    .filter((reason): reason is string => reason !== undefined)
  const reason = logged.at(-1) ?? lines.at(-1) ?? `exit code ${result.exitCode}`
  if (reason.endsWith('No nodes found for given cluster')) return noNodes(toolkit, cluster, target, true)
  return toolkit.error('load', `${result.command} failed: ${reason}`, {
    data: {command: result.command, exitCode: result.exitCode},
    details: lines.filter((line) => !line.endsWith(reason)),
    hint: "the lines above are the end of k3d's output; rerun it with --verbose to see all of it",
  })
}
