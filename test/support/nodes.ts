/**
 * Kind-style and minikube-style cluster nodes for integration tests: containers running a real containerd
 * (the docker.io package's /usr/bin/containerd and /usr/bin/ctr), named and labelled as kind and
 * minikube's docker driver name and label theirs, plus the stand-in `kind` and `minikube` executables in
 * test/fixtures/bin that load images into them. docs/testing.md explains both and where they differ from
 * the real thing.
 *
 *   before(async function () { await requireDocker(this); cluster = await createKindCluster('dev', {workers: 1}) })
 *   it('…', async () => {
 *     await runStandIn('kind', ['load', 'docker-image', tag, '--name', 'dev'])
 *     expect(await nodeImageIds(cluster.nodes[0])).to.include(await hostImageId(tag))
 *   })
 *   after(() => cluster.remove())
 *
 * Every command runs through execa with an argument array, never a shell string.
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {cleanup, docker, dockerResult} from './docker.js'

/** The node image: busybox, containerd, ctr and the libraries they need; CMD containerd. */
export const NODE_IMAGE = 'kudev-test/node:1'

/** Folder holding the `kind` and `minikube` stand-ins; put it first on PATH of a child process only. */
export const STAND_IN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin')

/** Label on every node container this module starts (for a manual sweep: docker ps -a --filter label=…). */
export const NODE_MARKER_LABEL = 'kudev-test.node'

const RECIPE_LABEL = 'kudev-test.node-recipe'
/** Bump when the recipe below changes in a way the input files do not show. */
const RECIPE_VERSION = '2'

/**
 * containerd's CRI plugin (what kind's `containerd config dump` check reads) uses overlayfs, as in kind's
 * node image. overlayfs cannot stack on Docker's overlay2, so each node gets a volume on
 * /var/lib/containerd, as kind gives its nodes (without it only the native snapshotter works, which copies
 * every parent layer for each new one and makes every load timing wrong).
 */
const CONTAINERD_CONFIG = `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
`

const DOCKERFILE = `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["/usr/bin/containerd"]
`

const BUSYBOX_APPLETS = ['sh', 'ls', 'cat', 'mkdir', 'rm', 'echo', 'sleep', 'true']

/** Binaries copied into the node, from $KUDEV_TEST_CONTAINERD_DIR (default /usr/bin) and busybox. */
function nodeBinaries(): {busybox: string; containerd: string; ctr: string} {
  const dir = process.env.KUDEV_TEST_CONTAINERD_DIR || '/usr/bin'
  return {
    busybox: process.env.KUDEV_TEST_BUSYBOX || '/bin/busybox',
    containerd: path.join(dir, 'containerd'),
    ctr: path.join(dir, 'ctr'),
  }
}

/** Shared libraries a binary loads, from `ldd` (none for a static binary). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const result = await execa('ldd', [binary], {reject: false})
  const output = `${result.stdout}\n${result.stderr}`
  if (/not a dynamic executable|statically linked/.test(output)) return []
  if (result.failed) throw new Error(`ldd ${binary} failed: ${output.trim()}`)
  const libs: string[] = []
  for (const line of result.stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (match?.[1] !== undefined) libs.push(match[1])
    else if (/=>\s*not found/.test(line)) throw new Error(`${binary} needs a library that is missing: ${line.trim()}`)
  }

  return libs
}

let nodeImagePending: Promise<string> | undefined

/**
 * Makes sure NODE_IMAGE exists and matches this machine's containerd, ctr, busybox and libraries; builds
 * it when missing or stale. Built at most once per process; the image is kept afterwards (a shared, cheap
 * base like kudev-test/busybox:1, not a test artifact).
 */
export function ensureNodeImage(): Promise<string> {
  nodeImagePending ??= buildNodeImage().catch((error: unknown) => {
    nodeImagePending = undefined // let a later call try again
    throw error
  })
  return nodeImagePending
}

async function buildNodeImage(): Promise<string> {
  const binaries = nodeBinaries()
  for (const [what, file] of Object.entries(binaries)) {
    try {
      await stat(file)
    } catch {
      throw new Error(
        `the node image needs ${what} at ${file}: install docker.io (containerd, ctr) and busybox-static, ` +
          'or set KUDEV_TEST_CONTAINERD_DIR / KUDEV_TEST_BUSYBOX',
      )
    }
  }

  const libraries = [...new Set((await Promise.all(Object.values(binaries).map(sharedLibraries))).flat())].sort()
  const files = [...Object.values(binaries), ...libraries]
  const hash = createHash('sha256').update(`${RECIPE_VERSION}\n${DOCKERFILE}\n${CONTAINERD_CONFIG}\n`)
  for (const file of files) {
    const info = await stat(file) // follows symlinks: the library actually loaded
    hash.update(`${file} ${info.size} ${info.mtimeMs}\n`)
  }

  const recipe = hash.digest('hex').slice(0, 32)
  const existing = await dockerResult([
    'image',
    'inspect',
    '--format',
    `{{ index .Config.Labels "${RECIPE_LABEL}" }}`,
    NODE_IMAGE,
  ])
  if (!existing.failed && existing.stdout.trim() === recipe) return NODE_IMAGE

  const dir = await mkdtemp(path.join(tmpdir(), 'kudev-node-image-'))
  try {
    const root = path.join(dir, 'rootfs')
    for (const sub of ['bin', 'usr/bin', 'etc/containerd', 'var/lib/containerd', 'run/containerd', 'tmp']) {
      await mkdir(path.join(root, sub), {recursive: true})
    }

    await chmod(path.join(root, 'tmp'), 0o1777)
    await copyFile(binaries.busybox, path.join(root, 'bin', 'busybox'))
    for (const applet of BUSYBOX_APPLETS) await symlink('busybox', path.join(root, 'bin', applet))
    await copyFile(binaries.containerd, path.join(root, 'usr', 'bin', 'containerd'))
    await copyFile(binaries.ctr, path.join(root, 'usr', 'bin', 'ctr'))
    for (const lib of libraries) {
      await mkdir(path.join(root, path.dirname(lib)), {recursive: true})
      await copyFile(lib, path.join(root, lib))
    }

    for (const file of ['bin/busybox', 'usr/bin/containerd', 'usr/bin/ctr']) await chmod(path.join(root, file), 0o755)
    await writeFile(path.join(root, 'etc', 'containerd', 'config.toml'), CONTAINERD_CONFIG)
    await writeFile(path.join(dir, 'Dockerfile'), DOCKERFILE)
    await docker(['build', '-q', '--label', `${RECIPE_LABEL}=${recipe}`, '-t', NODE_IMAGE, dir], {timeout: 300_000})
  } finally {
    await rm(dir, {force: true, recursive: true})
  }

  return NODE_IMAGE
}

/** A set of node containers standing for one cluster. */
export interface TestCluster {
  /** kind cluster name or minikube profile. */
  name: string
  /** Container names, control plane first. */
  nodes: string[]
  /** Removes the node containers (also done by removeAll() and the process-wide cleanup). */
  remove(): Promise<void>
}

const created = new Set<string>()

interface NodeSpec {
  name: string
  labels: Record<string, string>
  /** A tmpfs of this many MiB on /var/lib/containerd instead of a volume: a node whose disk fills up. */
  diskMib?: number
  /** Another snapshotter for CRI than overlayfs (e.g. native), through a containerd config mounted over the image's. */
  snapshotter?: string
}

/** Starts the node containers in parallel and waits until each one's containerd answers. */
async function startNodes(specs: NodeSpec[]): Promise<string[]> {
  await ensureNodeImage()
  const started = await Promise.allSettled(specs.map((spec) => startNode(spec)))
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failure !== undefined) {
    await removeNodes(specs.map((s) => s.name))
    throw failure.reason
  }

  return specs.map((s) => s.name)
}

async function startNode(spec: NodeSpec): Promise<void> {
  const labels = Object.entries({...spec.labels, [NODE_MARKER_LABEL]: 'true'}).flatMap(([k, v]) => [
    '--label',
    `${k}=${v}`,
  ])
  created.add(spec.name)
  cleanup.container(spec.name) // removed after all tests even if the suite forgets
  const config =
    spec.snapshotter === undefined
      ? []
      : ['--volume', `${await snapshotterConfig(spec.snapshotter)}:/etc/containerd/config.toml:ro`]
  await docker([
    'run',
    '-d',
    '--name',
    spec.name,
    '--hostname',
    spec.name,
    // these machines refuse --privileged and have no bridge network (shared/test-environment.md)
    '--network',
    'none',
    ...(spec.diskMib === undefined
      ? ['--volume', '/var/lib/containerd']
      : ['--mount', `type=tmpfs,destination=/var/lib/containerd,tmpfs-size=${spec.diskMib}m`]),
    ...config,
    '--cap-add',
    'SYS_ADMIN',
    '--security-opt',
    'seccomp=unconfined',
    '--security-opt',
    'apparmor=unconfined',
    ...labels,
    NODE_IMAGE,
  ])
  await waitForContainerd(spec.name)
}

/** A containerd config file like the node image's, naming another snapshotter; removed after all tests. */
async function snapshotterConfig(snapshotter: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kudev-node-config-'))
  cleanup.dir(dir)
  const file = path.join(dir, 'config.toml')
  await writeFile(file, CONTAINERD_CONFIG.replace('"overlayfs"', JSON.stringify(snapshotter)))
  return file
}

/** Polls `ctr -n k8s.io images ls` in the node until containerd answers (30 s). */
export async function waitForContainerd(node: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const result = await dockerResult(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'], {timeout: 10_000})
    if (!result.failed) return
    last = result.stderr.trim() || result.stdout.trim()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const logs = await dockerResult(['logs', '--tail', '20', node])
  throw new Error(
    `containerd in node ${node} did not answer within ${timeoutMs} ms: ${last}\n${logs.stderr}${logs.stdout}`,
  )
}

async function removeNodes(names: string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const result = await dockerResult(['rm', '-f', '-v', name], {timeout: 60_000})
      if (result.failed && !/no such container/i.test(result.stderr)) {
        throw new Error(`${result.command}: ${result.stderr.trim()}`)
      }

      created.delete(name)
    }),
  )
}

function cluster(name: string, nodes: string[]): TestCluster {
  return {name, nodes, remove: () => removeNodes(nodes)}
}

/** kind's node namer: `<cluster>-<role><suffix>`, suffix '' for the first of a role, then 2, 3, … */
export function kindNodeNames(name: string, workers = 0): string[] {
  const names = [`${name}-control-plane`]
  for (let i = 1; i <= workers; i++) names.push(`${name}-worker${i === 1 ? '' : i}`)
  return names
}

/**
 * A kind cluster's nodes: `<name>-control-plane` and `workers` × `<name>-worker`, `<name>-worker2`, …,
 * labelled io.x-k8s.kind.cluster=<name> and io.x-k8s.kind.role=control-plane|worker as kind does.
 * `diskMib`: containerd's storage is a tmpfs that size, to fill up. `snapshotter`: CRI's, instead of overlayfs.
 */
export async function createKindCluster(
  name: string,
  options: {workers?: number; diskMib?: number; snapshotter?: string} = {},
): Promise<TestCluster> {
  const names = kindNodeNames(name, options.workers ?? 0)
  const specs = names.map((node, i) => ({
    diskMib: options.diskMib,
    snapshotter: options.snapshotter,
    name: node,
    labels: {'io.x-k8s.kind.cluster': name, 'io.x-k8s.kind.role': i === 0 ? 'control-plane' : 'worker'},
  }))
  return cluster(name, await startNodes(specs))
}

/** minikube's machine names: `<profile>` for the primary node, then `<profile>-m02`, `<profile>-m03`, … */
export function minikubeNodeNames(profile: string, nodes = 1): string[] {
  return Array.from({length: nodes}, (_, i) => (i === 0 ? profile : `${profile}-m${String(i + 1).padStart(2, '0')}`))
}

/**
 * A minikube profile's nodes as the docker driver makes them (pkg/drivers/kic): containers named after
 * the machine, labelled created_by.minikube.sigs.k8s.io=true, name.minikube.sigs.k8s.io=<machine> and
 * mode.minikube.sigs.k8s.io=<machine> (the machine name, so `<profile>-m02` on the second node), and
 * role.minikube.sigs.k8s.io= (empty: kic never sets it).
 */
export async function createMinikubeProfile(profile: string, options: {nodes?: number} = {}): Promise<TestCluster> {
  const specs = minikubeNodeNames(profile, options.nodes ?? 1).map((machine) => ({
    name: machine,
    labels: {
      'created_by.minikube.sigs.k8s.io': 'true',
      'mode.minikube.sigs.k8s.io': machine,
      'name.minikube.sigs.k8s.io': machine,
      'role.minikube.sigs.k8s.io': '',
    },
  }))
  return cluster(profile, await startNodes(specs))
}

/**
 * Docker Desktop's kind-mode cluster: one node `desktop-control-plane` (kind cluster `desktop`). The name
 * is fixed, so only one can exist per engine at a time.
 */
export async function createDockerDesktopKindNode(): Promise<TestCluster> {
  return createKindCluster('desktop')
}

/** Removes every node container this process started and has not removed yet. */
export async function removeAll(): Promise<void> {
  await removeNodes([...created])
}

/** One ref in a node's containerd `k8s.io` namespace. */
export interface NodeImage {
  /** The ref as ctr lists it, e.g. docker.io/library/app:1, import-2026-01-01@sha256:…, sha256:<id>. */
  ref: string
  mediaType: string
  /** Manifest (or index) digest: ctr's DIGEST column. */
  digest: string
  /** Image ID: the config digest of the node's platform, what `crictl inspecti` reports as status.id. */
  id: string | undefined
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
])

interface Descriptor {
  digest: string
  platform?: {architecture?: string; os?: string}
}

interface ManifestOrIndex {
  config?: Descriptor
  manifests?: Descriptor[]
  mediaType?: string
}

async function contentGet(node: string, digest: string): Promise<ManifestOrIndex> {
  const out = await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'content', 'get', digest])
  return JSON.parse(out) as ManifestOrIndex
}

/** The config digest behind a manifest or index digest (for an index, the node platform's manifest). */
async function configDigest(node: string, digest: string): Promise<string | undefined> {
  let manifest = await contentGet(node, digest)
  if (INDEX_TYPES.has(manifest.mediaType ?? '') || Array.isArray(manifest.manifests)) {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch
    const entry = manifest.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch)
    if (entry === undefined) return undefined
    manifest = await contentGet(node, entry.digest)
  }

  return manifest.config?.digest
}

/**
 * Every ref in the node's `k8s.io` namespace with its image ID. ctr's DIGEST column is the manifest
 * digest; the ID that `docker image inspect -f {{.Id}}` and `crictl inspecti` report is the config
 * digest, read here from the manifest in the node's content store.
 */
export async function nodeImages(node: string): Promise<NodeImage[]> {
  const listing = await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls'])
  const rows = listing
    .split('\n')
    .slice(1) // header: REF TYPE DIGEST SIZE PLATFORMS LABELS
    .map((line) => line.trim().split(/\s+/))
    .filter((cols): cols is [string, string, string, ...string[]] => cols.length >= 3 && cols[0] !== '')
  const ids = new Map<string, string | undefined>()
  await Promise.all(
    [...new Set(rows.map((cols) => cols[2]))].map(async (digest) => {
      ids.set(digest, await configDigest(node, digest))
    }),
  )
  return rows.map(([ref, mediaType, digest]) => ({digest, id: ids.get(digest), mediaType, ref}))
}

/** The image IDs (config digests, `sha256:…`) present in the node's `k8s.io` namespace, sorted. */
export async function nodeImageIds(node: string): Promise<string[]> {
  const ids = (await nodeImages(node)).map((image) => image.id).filter((id): id is string => id !== undefined)
  return [...new Set(ids)].sort()
}

/** The refs (names) in the node's `k8s.io` namespace as ctr lists them, sorted. */
export async function nodeImageRefs(node: string): Promise<string[]> {
  const listing = await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])
  return listing
    .split('\n')
    .filter((line) => line !== '')
    .sort()
}

/** `docker image inspect -f {{.Id}} IMAGE` on the host: what the loaders compare with nodeImageIds(). */
export async function hostImageId(image: string): Promise<string> {
  return (await docker(['image', 'inspect', '-f', '{{.Id}}', image])).trim()
}

/** An environment for a child process that finds the stand-ins first on PATH (never changes process.env). */
export function standInEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = extra.PATH ?? process.env.PATH ?? ''
  return {...process.env, ...extra, PATH: `${STAND_IN_BIN}${path.delimiter}${base}`}
}

export interface StandInResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs a stand-in (`kind` or `minikube`) with stand-ins first on its PATH; never throws on exit codes. */
export async function runStandIn(
  cli: 'kind' | 'minikube',
  args: string[],
  options: {env?: NodeJS.ProcessEnv; input?: string; timeout?: number} = {},
): Promise<StandInResult> {
  const result = await execa(path.join(STAND_IN_BIN, cli), args, {
    env: standInEnv(options.env),
    extendEnv: false,
    input: options.input,
    reject: false,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    timeout: options.timeout ?? 120_000,
  })
  return {exitCode: result.exitCode ?? -1, stderr: String(result.stderr), stdout: String(result.stdout)}
}

/** One line of a stand-in's log ($KUDEV_FAKE_KIND_LOG / $KUDEV_FAKE_MINIKUBE_LOG). */
export interface StandInLogEntry {
  /** Set on the line written when the stand-in starts: its arguments. */
  argv?: string[]
  /** Set on lines for what it did to a node: 'import' (an image tar went in), 'retag', 'remove'. */
  event?: 'import' | 'retag' | 'remove'
  node?: string
  pid: number
  time: string
  [key: string]: unknown
}

/** Reads a stand-in log file (missing file: no entries). */
export async function readStandInLog(file: string): Promise<StandInLogEntry[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return []
  }

  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StandInLogEntry)
}

/**
 * Whether the node holds all of `name`'s content, unpacked for `snapshotter` (default overlayfs), read from
 * `ctr images check`'s table: its `-q` lists complete images even when they are not unpacked (containerd 1.6).
 */
export async function nodeImageReady(node: string, name: string, snapshotter = 'overlayfs'): Promise<boolean> {
  const table = await docker([
    'exec',
    node,
    'ctr',
    '-n',
    'k8s.io',
    'images',
    'check',
    '--snapshotter',
    snapshotter,
    `name==${name}`,
  ])
  return table.split('\n').some((line) => {
    const columns = line.trim().split(/\s+/)
    return columns[0] === name && columns[3] === 'complete' && columns.at(-1) === 'true'
  })
}

/** k3d's node names (pkg/client/cluster.go, `%s-%s-%s-%d`): `k3d-<name>-server-0`, `k3d-<name>-agent-0`, … */
export function k3dNodeNames(name: string, agents = 0): string[] {
  return [`k3d-${name}-server-0`, ...Array.from({length: agents}, (_, i) => `k3d-${name}-agent-${i}`)]
}

/**
 * A k3d cluster's containers: `k3d-<name>-server-0` and `agents` × `k3d-<name>-agent-N`, labelled
 * k3d.cluster=<name> and k3d.role=server|agent as k3d does (pkg/types/types.go), plus `k3d-<name>-serverlb`
 * labelled k3d.role=loadbalancer, which runs no kubelet and must be skipped. `nodes` lists the server and
 * agents only; remove() removes the load balancer too. The nodes run stock containerd on its own socket, where
 * k3s's runs at /run/k3s/containerd/containerd.sock (its ctr defaults there).
 */
export async function createK3dCluster(name: string, options: {agents?: number} = {}): Promise<TestCluster> {
  const names = k3dNodeNames(name, options.agents ?? 0)
  const labels = (role: string) => ({'k3d.cluster': name, 'k3d.role': role})
  const specs = [
    ...names.map((node, i) => ({labels: labels(i === 0 ? 'server' : 'agent'), name: node})),
    {labels: labels('loadbalancer'), name: `k3d-${name}-serverlb`},
  ]
  const all = await startNodes(specs)
  return {name, nodes: names, remove: () => removeNodes(all)}
}

/**
 * This machine's MicroK8s for the microk8s stand-in (test/fixtures/bin/microk8s): one node container
 * labelled kudev-test.microk8s (the label the stand-in finds it by; only one may exist at a time), named
 * `name`. A stopped container stands for `microk8s stop`.
 */
export async function createMicrok8sNode(name: string): Promise<TestCluster> {
  return cluster(name, await startNodes([{labels: {'kudev-test.microk8s': 'true'}, name}]))
}
