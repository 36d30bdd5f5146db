/**
 * Looking into kind nodes from the host: which node containers a cluster has, and whether an image is in
 * a node's containerd `k8s.io` namespace (where the kubelet looks). Shared with the Docker Desktop loader,
 * whose kind-based cluster has kind nodes too.
 */
import type {ExecResult, ExitCodeName, LoadableImage, PluginToolkit} from 'kudev'
import {createWriteStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

export const DOCKER = 'docker'
export const DOCKER_NOT_FOUND_HINT = 'install Docker (https://docs.docker.com/get-docker/), or put docker on PATH'

/** kind's node labels (pkg/cluster/internal/providers/docker/constants.go). */
const CLUSTER_LABEL = 'io.x-k8s.kind.cluster'
const ROLE_LABEL = 'io.x-k8s.kind.role'

export interface KindNode {
  name: string
  /** `running`, `exited`, `paused`, … as `docker ps` reports it. */
  state: string
}

/** Runs docker; a failure becomes an error of `kind` that says what kudev was doing and docker's last line. */
export async function docker(toolkit: PluginToolkit, args: string[], doing: string, kind: ExitCodeName = 'engine'): Promise<string> {
  const result = await toolkit.exec(DOCKER, args, {allowFailure: true, errorKind: 'engine', notFoundHint: DOCKER_NOT_FOUND_HINT})
  if (result.exitCode !== 0) throw dockerFailed(toolkit, result, doing, kind)
  return result.stdout
}

export function dockerFailed(toolkit: PluginToolkit, result: ExecResult, doing: string, kind: ExitCodeName = 'engine'): Error {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter(Boolean)
  return toolkit.error(kind, `could not ${doing}: ${lines.at(-1) ?? `${result.command} exited with code ${result.exitCode}`}`, {
    details: lines.slice(-10, -1),
    hint: kind === 'engine' ? 'is Docker running? `docker info` says what is wrong' : 'rerun with -v to see every command kudev runs',
  })
}

/**
 * A kind cluster's nodes as kind's ListInternalNodes finds them: the containers labelled with the
 * cluster name, stopped ones included, keeping the control-plane and worker roles (not the external load
 * balancer, which runs no kubelet). Sorted by name.
 */
export async function kindNodes(toolkit: PluginToolkit, cluster: string): Promise<KindNode[]> {
  // The role comes in the same `docker ps` as the names (kind asks `docker inspect` once per node).
  const format = `{{.Names}}\t{{.State}}\t{{.Label "${ROLE_LABEL}"}}`
  const listing = await docker(toolkit, ['ps', '-a', '--filter', `label=${CLUSTER_LABEL}=${cluster}`, '--format', format], `list the nodes of kind cluster "${cluster}"`)
  return listing
    .split('\n')
    .map((line) => line.trim().split('\t'))
    .filter(([name, , role]) => name && (role === 'control-plane' || role === 'worker'))
    .map(([name = '', state = '']) => ({name, state}))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Fails when a node is not running: nothing can be loaded into or read from a stopped container. */
export function requireRunning(toolkit: PluginToolkit, nodes: KindNode[], what: string, hint?: string): void {
  const stopped = nodes.filter((node) => node.state !== 'running')
  if (stopped.length === 0) return
  const names = stopped.map((node) => node.name)
  throw toolkit.error('load', `${what}: ${stopped.map((node) => `node "${node.name}" is ${node.state}`).join(', ')}`, {
    hint: hint ?? `start ${names.length === 1 ? 'it' : 'them'}: docker start ${names.join(' ')}`,
  })
}

/** The Docker engine's platform, which is the kind nodes' platform (they are its containers). */
export interface DockerHost {
  /** `linux/amd64`, `linux/arm64`: what `docker save --platform` and `ctr import --platform` take. */
  platform: string
  /** True when Docker keeps images in containerd (the containerd image store, default since Docker 29 / Desktop 4.34). */
  containerdStore: boolean
}

/** `docker info` reports the kernel's machine name; images and manifests use Go's names. */
const GO_ARCH: Record<string, string> = {aarch64: 'arm64', armv7l: 'arm', x86_64: 'amd64'}

export async function dockerHost(toolkit: PluginToolkit): Promise<DockerHost> {
  const info = await docker(toolkit, ['info', '--format', '{{.OSType}}\t{{.Architecture}}\t{{json .DriverStatus}}'], 'ask Docker for its platform and image store')
  const [os = 'linux', machine = '', driverStatus = 'null'] = info.trim().split('\t')
  const status = JSON.parse(driverStatus) as [string, string][] | null
  return {
    containerdStore: (status ?? []).some(([key, value]) => key === 'driver-type' && value === 'io.containerd.snapshotter.v1'),
    platform: `${os}/${GO_ARCH[machine] ?? machine}`,
  }
}

/**
 * A name as the node's containerd stores it, normalised the way CRI does (reference.ParseDockerRef):
 * `app:1` → `docker.io/library/app:1`, `localhost:5000/app` → `localhost:5000/app:latest`.
 */
export function normalizeRef(ref: string): string {
  const slash = ref.indexOf('/')
  const first = ref.slice(0, Math.max(slash, 0))
  const hasDomain = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost')
  const domain = !hasDomain || first === 'index.docker.io' ? 'docker.io' : first
  let rest = hasDomain ? ref.slice(slash + 1) : ref
  if (domain === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`
  if (!rest.slice(rest.lastIndexOf('/') + 1).includes(':') && !rest.includes('@')) rest += ':latest'
  return `${domain}/${rest}`
}

interface Manifest {
  config?: {digest?: string}
  manifests?: {digest: string; platform?: {architecture?: string; os?: string}}[]
}

async function nodeContent(toolkit: PluginToolkit, node: string, digest: string): Promise<Manifest> {
  const json = await docker(toolkit, ['exec', node, 'ctr', '--namespace=k8s.io', 'content', 'get', digest], `read ${digest} in node "${node}"`, 'load')
  return JSON.parse(json) as Manifest
}

/**
 * Does `ref` name one of `ids` in the node? An ID is the config digest (`docker image inspect .Id` with
 * the classic image store, crictl's image ID) or the digest the name points at (`.Id` with Docker's
 * containerd image store is the manifest or index digest, kind#4236). The name must match, not just the
 * ID: the kubelet looks the image up by the name in the pod spec.
 */
async function nodeHas(toolkit: PluginToolkit, node: string, ref: string, ids: ReadonlySet<string>, host: () => Promise<DockerHost>): Promise<boolean> {
  const listing = await docker(toolkit, ['exec', node, 'ctr', '--namespace=k8s.io', 'images', 'ls', `name==${normalizeRef(ref)}`], `list the images in node "${node}"`, 'load')
  // REF TYPE DIGEST SIZE PLATFORMS LABELS; the first three columns never contain spaces.
  const target = listing.split('\n').slice(1).map((line) => line.trim().split(/\s+/)[2]).find(Boolean)
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
export async function nodesWithout(toolkit: PluginToolkit, nodes: KindNode[], ref: string, ids: ReadonlySet<string>, host: () => Promise<DockerHost>): Promise<string[]> {
  const present = await Promise.all(nodes.map((node) => nodeHas(toolkit, node.name, ref, ids, host)))
  return nodes.filter((_, i) => !present[i]).map((node) => node.name)
}

/**
 * Writes the image as a `docker save`-format tar to `file`: from the Docker daemon when it is there (for
 * one platform when given), otherwise through the builder that made it (`podman save`).
 */
export async function saveImage(toolkit: PluginToolkit, image: LoadableImage, file: string, signal: AbortSignal, platform?: string): Promise<void> {
  if (image.inDockerDaemon) {
    const args = ['save', ...(platform === undefined ? [] : ['--platform', platform]), '-o', file, image.ref]
    await toolkit.exec(DOCKER, args, {errorKind: 'engine', notFoundHint: DOCKER_NOT_FOUND_HINT, signal})
    return
  }

  try {
    await pipeline(await image.save(), createWriteStream(file), {signal})
  } catch (error) {
    if (signal.aborted) throw toolkit.error('interrupted', `interrupted while saving ${image.ref}`, {hint: 'nothing was loaded; run the command again'})
    throw error
  }
}

/** Runs `work` with a new temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  try {
    return await work(dir)
  } finally {
    await rm(dir, {force: true, recursive: true})
  }
}
