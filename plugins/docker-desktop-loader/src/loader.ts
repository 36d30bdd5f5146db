import type {ClusterNode, Diagnostic, ImageRef, LoadableImage, Loader, LoadTarget, PluginToolkit} from 'kudev'
import {createReadStream} from 'node:fs'
import path from 'node:path'

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

  constructor(private readonly toolkit: PluginToolkit) {}

  /** For `kudev doctor`: the Docker engine's platform, and how Docker Desktop runs Kubernetes. */
  async diagnose(): Promise<Diagnostic[]> {
    return [
      await this.toolkit.diagnostic('cluster', async () => {
        const nodes = await this.kindNodes()
        if (nodes.length === 0)
          return `Docker Desktop's Kubernetes (kubeadm) on the Docker daemon (${(await this.toolkit.dockerHost()).platform}): images built there need no load`
        return `Docker Desktop's Kubernetes (kind): ${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.map((node) => `"${node.name}"`).join(', ')} running`
      }),
    ]
  }

  async has(image: ImageRef): Promise<boolean> {
    const nodes = await this.kindNodes()
    if (nodes.length === 0) return (await this.daemonId(image.ref)) === image.id
    return (await this.toolkit.nodesWithout(nodes, image.ref, new Set([image.id]))).length === 0
  }

  async load(image: LoadableImage, _target: LoadTarget, signal: AbortSignal): Promise<void> {
    const nodes = await this.kindNodes()
    if (nodes.length === 0) {
      await this.loadIntoDaemon(image, signal)
      return
    }

    const {platform} = await this.toolkit.dockerHost()
    await this.toolkit.withTempDir('kudev-desktop-', async (archiveDir) => {
      const archive = path.join(archiveDir, 'image.tar')
      await this.toolkit.saveImage(image, archive, signal)
      // Every import runs to its end before the archive goes away; the first failure is reported.
      const imports = await Promise.allSettled(
        nodes.map((node) => this.importInto(node.name, archive, image, platform, signal)),
      )
      const failed = imports.find((result): result is PromiseRejectedResult => result.status === 'rejected')
      if (failed) throw failed.reason
    })

    const missing = await this.toolkit.nodesWithout(nodes, image.ref, new Set([image.id]))
    if (missing.length > 0) {
      const names = missing.map((node) => `"${node}"`).join(', ')
      throw this.toolkit.error(
        'load',
        `imported ${image.ref}, but ${missing.length === 1 ? `node ${names}` : `nodes ${names}`} of Docker Desktop's cluster ${missing.length === 1 ? 'does' : 'do'} not have it as ${image.id}`,
        {
          data: {id: image.id, image: image.ref, nodes: missing},
          hint: `rerun with -v to see ctr's output; the node lists its images with: docker exec ${missing[0]} ctr --namespace=k8s.io images ls`,
        },
      )
    }
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

  /**
   * `docker save | ctr import` into one node, as kind does it but for the node's platform only: with
   * Docker's containerd image store (which Desktop's kind mode requires) `docker save` lists every platform
   * of an image but holds only the content Docker has, and `--all-platforms` fails on the rest
   * (kind#3795). The name then points at what Docker calls the image ID.
   */
  private async importInto(
    node: string,
    archive: string,
    image: ImageRef,
    platform: string,
    signal: AbortSignal,
  ): Promise<void> {
    const snapshotter = await this.snapshotter(node)
    const args = [
      'exec',
      '-i',
      node,
      'ctr',
      '--namespace=k8s.io',
      'images',
      'import',
      '--platform',
      platform,
      '--digests',
      ...(snapshotter === undefined ? [] : [`--snapshotter=${snapshotter}`]),
      '-',
    ]
    const input = createReadStream(archive)
    try {
      const result = await this.toolkit.docker(args, `import ${image.ref} into node "${node}"`, {
        accept: () => true,
        errorCode: 'load',
        input,
        onLine: (line) => this.toolkit.logger.debug(`${node}: ${line}`),
        signal,
      })
      if (result.exitCode !== 0) {
        const lines = result.stderr
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
        throw this.toolkit.error(
          'load',
          `could not import ${image.ref} into node "${node}": ${lines.at(-1) ?? `exit code ${result.exitCode}`}`,
          {
            details: lines.slice(-10, -1),
            hint: /image might be filtered out/.test(result.stderr)
              ? `the image is not built for the nodes' platform: build it for ${platform}`
              : `the line above is ctr's reason; the command was: ${result.command}`,
          },
        )
      }
    } finally {
      input.destroy()
    }
  }

  /**
   * The snapshotter the node's CRI uses, which the import must unpack for (kind's getSnapshotter). When
   * the config names none, CRI and ctr both use containerd's default, so the import passes none either.
   */
  private async snapshotter(node: string): Promise<string | undefined> {
    const {stdout} = await this.toolkit.docker(
      ['exec', node, 'containerd', 'config', 'dump'],
      `read the containerd configuration of node "${node}"`,
      {errorCode: 'load'},
    )
    return parseSnapshotter(stdout)
  }
}

/** Config version 2 keeps it in plugins."io.containerd.grpc.v1.cri".containerd; 3 and later (containerd 2) in plugins."io.containerd.cri.v1.images". */
export function parseSnapshotter(toml: string): string | undefined {
  const version = Number(/^version\s*=\s*(\d+)/m.exec(toml)?.[1] ?? 1)
  const table =
    version >= 3 ? 'plugins."io.containerd.cri.v1.images"' : 'plugins."io.containerd.grpc.v1.cri".containerd'
  let current = ''
  for (const line of toml.split('\n').map((raw) => raw.trim())) {
    const header = /^\[([^[\]]+)\]$/.exec(line)
    if (header) current = header[1]!.trim()
    const value = /^snapshotter\s*=\s*"([^"]*)"/.exec(line)?.[1]
    if (value && current === table) return value
  }

  return undefined
}
