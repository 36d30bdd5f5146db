import type {
  ClusterNode,
  Diagnostic,
  ExecResult,
  ImageRef,
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

  constructor(private readonly toolkit: PluginToolkit) {}

  /** For `kudev doctor`: the kind CLI's version (needed only for --full-load), and the cluster's nodes. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return Promise.all([
      this.toolkit.diagnostic('kind', async () => {
        const result = await this.toolkit
          .exec(KIND, ['version'], {errorCode: 'load', notFoundHint: INSTALL_HINT})
          .catch((error: {data?: {notFound?: boolean}}) => {
            if (error.data?.notFound) return undefined
            throw error
          })
        // kudev loads into the nodes itself; only --full-load runs the kind CLI.
        return result?.stdout.trim() ?? {hint: INSTALL_HINT, summary: 'not installed: needed only for --full-load'}
      }),
      this.toolkit.diagnostic('cluster', async () => {
        const {cluster, nodes} = await this.nodes(target)
        return `kind cluster "${cluster}": ${describeNodes(nodes.map((node) => node.name))} running`
      }),
    ])
  }

  /** Before a build: the nodes are running, and with --full-load the kind CLI is there. */
  async check(target: LoadTarget, options: LoadOptions = {}): Promise<void> {
    await this.nodes(target)
    if (options.full) await this.toolkit.exec(KIND, ['version'], {errorCode: 'load', notFoundHint: INSTALL_HINT})
  }

  /** has()'s answer, for the load() that follows it in the same run (asking the nodes twice costs 0.2 s). */
  private checked?: {key: string; lacking: string[]}

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    const {nodes} = await this.nodes(target)
    const lacking = await this.toolkit.nodesWithout(nodes, image.ref, new Set([image.id]))
    this.checked = {key: checkKey(image, target), lacking}
    return lacking.length === 0
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
    const checked = this.checked?.key === checkKey(image, target) ? this.checked.lacking : undefined
    const [host, known] = await Promise.all([
      asked,
      options.full ? undefined : (checked ?? this.toolkit.nodesWithout(nodes, image.ref, new Set([image.id]))),
    ])
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

    const missing = await this.toolkit.nodesWithout(nodes, image.ref, ids)
    if (missing.length > 0) {
      throw this.toolkit.error(
        'load',
        `${loaded.command} exited 0, but ${describeNodes(missing)} of cluster "${cluster}" ${missing.length === 1 ? 'does' : 'do'} not have ${image.ref} (${image.id})`,
        {
          data: {cluster, image: image.ref, id: image.id, nodes: missing},
          details: this.toolkit.lastLines(loaded.stderr),
          hint: `kind's output is above; each node must list it: docker exec ${missing[0]} ctr --namespace=k8s.io images ls`,
        },
      )
    }

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
    if (nodes.length === 0) throw noNodes(this.toolkit, cluster, target, await this.installed())
    this.toolkit.requireRunning(nodes, `kind cluster "${cluster}" is not running`)
    return {cluster, nodes}
  }

  /** Whether the kind CLI is on PATH: hints name it only then. */
  private async installed(): Promise<boolean> {
    return this.toolkit.exec(KIND, ['version'], {errorCode: 'load'}).then(
      () => true,
      () => false,
    )
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

function checkKey(image: ImageRef, target: LoadTarget): string {
  return JSON.stringify([image.ref, image.id, target.params.cluster])
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

function describeNodes(names: string[]): string {
  return names.length === 1 ? `node "${names[0]}"` : `nodes ${names.map((name) => `"${name}"`).join(', ')}`
}
