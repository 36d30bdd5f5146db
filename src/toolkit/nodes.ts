/**
 * Clusters whose nodes are Docker containers with their own containerd (kind, Docker Desktop's kind
 * mode): which node containers a cluster has, and whether an image is in a node's containerd `k8s.io`
 * namespace, where the kubelet looks.
 */
import type {BaseToolkit, ClusterNode, DockerHost, ImageRef, LackingNodes, NodeSelector} from '../plugins/contract.js'
import {docker} from './docker.js'
import {normalizeRef} from './image-ref.js'

/** kind's node labels (pkg/cluster/internal/providers/docker/constants.go). */
const KIND_NODES: NodeSelector = {
  label: 'io.x-k8s.kind.cluster',
  roleLabel: 'io.x-k8s.kind.role',
  roles: ['control-plane', 'worker'],
}

/**
 * A kind cluster's nodes as kind's ListInternalNodes finds them: control-plane and workers, not the external
 * load balancer, which runs no kubelet.
 */
export function kindNodes(toolkit: BaseToolkit, cluster: string): Promise<ClusterNode[]> {
  return containerNodes(toolkit, KIND_NODES, cluster, `kind cluster "${cluster}"`)
}

/**
 * The containers labelled `<label>=<cluster>` whose role label is one of `roles`, stopped ones included,
 * sorted by name: how kind, k3d and the like mark a cluster's node containers. The role comes in the same
 * `docker ps` as the names (kind asks `docker inspect` once per node).
 */
export async function containerNodes(
  toolkit: BaseToolkit,
  selector: NodeSelector,
  cluster: string,
  what: string,
): Promise<ClusterNode[]> {
  const format = `{{.Names}}\t{{.State}}\t{{.Label "${selector.roleLabel}"}}`
  const {stdout} = await docker(
    toolkit,
    ['ps', '-a', '--filter', `label=${selector.label}=${cluster}`, '--format', format],
    `list the nodes of ${what}`,
  )
  const roles = new Set(selector.roles)
  return stdout
    .split('\n')
    .map((line) => line.trim().split('\t'))
    .filter(([name, , role]) => name && roles.has(role ?? ''))
    .map(([name = '', state = '']) => ({name, state}))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Fails when a node is not running: nothing can be loaded into or read from a stopped container. */
export function requireRunning(toolkit: BaseToolkit, nodes: readonly ClusterNode[], what: string, hint?: string): void {
  const stopped = nodes.filter((node) => node.state !== 'running')
  if (stopped.length === 0) return
  const names = stopped.map((node) => node.name)
  throw toolkit.error('load', `${what}: ${stopped.map((node) => `node "${node.name}" is ${node.state}`).join(', ')}`, {
    hint: hint ?? `start ${names.length === 1 ? 'it' : 'them'}: docker start ${names.join(' ')}`,
  })
}

interface Manifest {
  config?: {digest?: string}
  manifests?: {digest: string; platform?: {architecture?: string; os?: string}}[]
}

async function nodeContent(toolkit: BaseToolkit, node: string, digest: string): Promise<Manifest> {
  const {stdout} = await docker(
    toolkit,
    ['exec', node, 'ctr', '--namespace=k8s.io', 'content', 'get', digest],
    `read ${digest} in node "${node}"`,
    {errorCode: 'load'},
  )
  return JSON.parse(stdout) as Manifest
}

/** The digest `ref` points at in the node's `k8s.io` namespace (ctr's DIGEST column), undefined when absent. */
export async function nameTarget(toolkit: BaseToolkit, node: string, ref: string): Promise<string | undefined> {
  const {stdout} = await docker(
    toolkit,
    ['exec', node, 'ctr', '--namespace=k8s.io', 'images', 'ls', `name==${normalizeRef(ref)}`],
    `list the images in node "${node}"`,
    {errorCode: 'load'},
  )
  // REF TYPE DIGEST SIZE PLATFORMS LABELS; the first three columns never contain spaces.
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[2])
    .find(Boolean)
}

/**
 * Does `ref` name one of `ids` in the node? An ID is the config digest (`docker image inspect .Id` with
 * the classic image store, crictl's image ID) or the digest the name points at (`.Id` with Docker's
 * containerd image store is the manifest or index digest, kind#4236). The name must match, not just the
 * ID: the kubelet looks the image up by the name in the pod spec.
 */
async function nodeHas(
  toolkit: BaseToolkit,
  node: string,
  ref: string,
  ids: ReadonlySet<string>,
  host: () => Promise<DockerHost>,
): Promise<boolean> {
  const target = await nameTarget(toolkit, node, ref)
  if (target === undefined) return false
  if (ids.has(target)) return true
  let manifest = await nodeContent(toolkit, node, target)
  if (manifest.manifests !== undefined) {
    const [os, architecture] = (await host()).platform.split('/')
    const entry = manifest.manifests.find((m) => m.platform?.os === os && m.platform?.architecture === architecture)
    if (entry === undefined) return false
    manifest = await nodeContent(toolkit, node, entry.digest)
  }

  return ids.has(manifest.config?.digest ?? '')
}

/** The nodes (by name) where `ref` does not name one of `ids`, checked in parallel. */
export async function nodesWithout(
  toolkit: BaseToolkit,
  nodes: readonly ClusterNode[],
  ref: string,
  ids: ReadonlySet<string>,
  host: () => Promise<DockerHost>,
): Promise<string[]> {
  const present = await Promise.all(nodes.map((node) => nodeHas(toolkit, node.name, ref, ids, host)))
  return nodes.filter((_, i) => !present[i]).map((node) => node.name)
}

/** `node "a"` or `nodes "a", "b"`. */
export function describeNodes(names: readonly string[]): string {
  return names.length === 1 ? `node "${names[0]}"` : `nodes ${names.map((name) => `"${name}"`).join(', ')}`
}

/**
 * nodesWithout, remembering has()'s answer for the load() after it. load() takes it once: the next load()
 * of the same image, with no has() between, must ask the nodes the previous one loaded.
 */
export function lackingNodes(toolkit: BaseToolkit, host: () => Promise<DockerHost>): LackingNodes {
  let asked: {key: string; lacking: string[]} | undefined
  const keyOf = (nodes: readonly ClusterNode[], image: ImageRef) =>
    JSON.stringify([image.ref, image.id, nodes.map((node) => node.name)])
  const without = (nodes: readonly ClusterNode[], image: ImageRef) =>
    nodesWithout(toolkit, nodes, image.ref, new Set([image.id]), host)
  return {
    async ask(nodes, image) {
      const lacking = await without(nodes, image)
      asked = {key: keyOf(nodes, image), lacking}
      return lacking
    },
    async forLoad(nodes, image) {
      const remembered = asked?.key === keyOf(nodes, image) ? asked.lacking : undefined
      asked = undefined
      return remembered ?? without(nodes, image)
    },
  }
}
