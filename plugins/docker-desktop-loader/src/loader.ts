import type {
  ClusterNode,
  Diagnostic,
  ImageRef,
  LackingNodes,
  LoadableImage,
  Loader,
  LoadOptions,
  LoadReport,
  LoadTarget,
  PluginToolkit,
} from 'kudev'

/** Docker Desktop's kind-based cluster (Desktop ≥ 4.38) is the kind cluster `desktop`: desktop-control-plane, desktop-worker, … */
const DESKTOP_CLUSTER = 'desktop'

/**
 * Docker Desktop runs Kubernetes one of two ways. kubeadm: the node is the Docker daemon itself, so an
 * image Docker has is already there. kind: the nodes are containers with their own containerd, which
 * pulls Docker's images through a registry mirror but does not list them (imagePullPolicy: Never fails),
 * so the image is imported into each node the way kind does it.
 */
export class DockerDesktopLoader implements Loader {
  readonly name = 'docker-desktop'
  /** has()'s answer in kind mode, for the load() after it. */
  private readonly lacking: LackingNodes

  constructor(private readonly toolkit: PluginToolkit) {
    this.lacking = toolkit.lackingNodes()
  }

  /** For `kudev doctor`: the Docker engine's platform, and how Docker Desktop runs Kubernetes. */
  async diagnose(): Promise<Diagnostic[]> {
    return [
      await this.toolkit.diagnostic('cluster', async () => {
        const nodes = await this.kindNodes()
        if (nodes.length === 0)
          return `Docker Desktop's Kubernetes (kubeadm) on the Docker daemon (${(await this.toolkit.dockerHost()).platform}): images built there need no load`
        return `Docker Desktop's Kubernetes (kind): ${this.toolkit.describeNodes(nodes.map((node) => node.name))} running`
      }),
    ]
  }

  async has(image: ImageRef): Promise<boolean> {
    const nodes = await this.kindNodes()
    if (nodes.length === 0) return (await this.daemonId(image.ref)) === image.id
    return (await this.lacking.ask(nodes, image)).length === 0
  }

  /**
   * kind mode: each node that lacks the image gets only the layers it lacks (toolkit.loadIntoNodes, which
   * checks every node afterwards, and saves only the engine's platform from Docker's containerd image store,
   * which Desktop's kind mode requires: kind#3795).
   */
  async load(
    image: LoadableImage,
    _target: LoadTarget,
    signal: AbortSignal,
    options: LoadOptions = {},
  ): Promise<LoadReport> {
    const nodes = await this.kindNodes()
    if (nodes.length === 0) {
      await this.loadIntoDaemon(image, signal)
      return {method: image.inDockerDaemon ? 'none: the node is the Docker daemon' : 'docker load', nodes: []}
    }

    const loads = await this.toolkit.loadIntoNodes(image, await this.lacking.forLoad(nodes, image), {
      full: options.full,
      onProgress: options.onProgress,
      signal,
    })
    return {method: options.full ? 'whole image per node' : 'trimmed per node', nodes: loads}
  }

  /** The kind-based cluster's nodes; none in kubeadm mode. */
  private async kindNodes(): Promise<ClusterNode[]> {
    const nodes = await this.toolkit.kindNodes(DESKTOP_CLUSTER)
    this.toolkit.requireRunning(
      nodes,
      "Docker Desktop's Kubernetes is not running",
      'start it in Docker Desktop: Settings → Kubernetes',
    )
    return nodes
  }

  /** kubeadm mode: the cluster uses the Docker daemon's images. */
  private async loadIntoDaemon(image: LoadableImage, signal: AbortSignal): Promise<void> {
    if (image.inDockerDaemon) {
      this.toolkit.logger.debug(
        `nothing to load: Docker Desktop's Kubernetes (kubeadm) runs on the Docker daemon, which has ${image.ref}`,
      )
      return
    }

    const archive = await image.save()
    try {
      await this.toolkit.docker(['load'], `load ${image.ref} into the Docker daemon`, {
        errorCode: 'load',
        input: archive,
        signal,
      })
    } finally {
      archive.destroy()
    }

    const id = await this.daemonId(image.ref)
    if (id !== image.id) {
      throw this.toolkit.error(
        'load',
        `docker load finished, but the Docker daemon has ${id === undefined ? `no ${image.ref}` : `${image.ref} as ${id}`}, not ${image.id}`,
        {
          data: {found: id, id: image.id, image: image.ref},
          hint: 'rerun with -v to see what docker load printed',
        },
      )
    }
  }

  /** The ID the Docker daemon has for `ref`, undefined when it has no such image. */
  private async daemonId(ref: string): Promise<string | undefined> {
    const noSuchImage = (result: {stderr: string}) => /no such image/i.test(result.stderr)
    const result = await this.toolkit.docker(['image', 'inspect', '--format', '{{.Id}}', ref], `inspect ${ref}`, {
      accept: noSuchImage,
    })
    return result.exitCode === 0 ? result.stdout.trim() : undefined
  }
}
