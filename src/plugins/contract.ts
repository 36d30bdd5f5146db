/**
 * The public plugin contract: what a builder or loader plugin registers and implements.
 * Plugins import these as types only (`import type … from 'kudev'`), so a user-installed plugin needs no
 * runtime copy of kudev; the core checks every descriptor's shape at runtime instead of trusting types.
 */
import type {Hook} from '@oclif/core'
import type {Readable} from 'node:stream'

import type {ExecOptions, ExecResult} from '../exec/run.js'
import type {ExitCodeName, KudevErrorOptions} from '../output/errors.js'

/** Descriptor API versions this kudev understands. A plugin states the one it was written for. */
export const SUPPORTED_API_VERSIONS: readonly number[] = [1]

/**
 * The label that ties an image to the exact build context and inputs it was built from: its value is the
 * context's full digest. kudev passes it to builders in `BuildOptions.labels` and skips a build only when
 * the image under the tag carries it with the same value.
 */
export const DIGEST_LABEL = 'dev.kudev.digest'

export const BUILDERS_EVENT = 'kudev:builders'
export const LOADERS_EVENT = 'kudev:loaders'
export type RegistrationEvent = typeof BUILDERS_EVENT | typeof LOADERS_EVENT

/** A built image: the full reference (`myapp:kudev-1a2b3c4d`) and the image ID (`sha256:…`). */
export interface ImageRef {
  ref: string
  id: string
}

export interface ImageInfo {
  id: string
  labels: Record<string, string>
}

export interface BuildOptions {
  /** Folder the build context comes from. */
  source: string
  /** Absolute path of the Dockerfile (it may lie outside the source folder). */
  dockerfile: string
  imageName: string
  tag: string
  buildArgs: Record<string, string>
  target?: string
  platform?: string
  network?: string
  /** Build without the builder's layer cache (`docker build --no-cache`). */
  noCache?: boolean
  /**
   * Labels the image must carry, each exactly as given (`--label NAME=VALUE`). The rule every builder must
   * follow: apply all of them. `DIGEST_LABEL` is always among them; kudev checks it after each build and
   * skips a later build only when the image under the tag carries it, so a builder that drops it rebuilds
   * every time (kudev warns once, naming the plugin).
   */
  labels: Record<string, string>
  /** Every line of build output, as it comes; kudev shows it as progress (never on stdout). */
  onOutput?: (line: string) => void
}

/** The build context kudev hashed: a builder sends exactly this, never the folder itself. */
export interface BuildContext {
  /** Absolute path of the context folder. */
  root: string
  /** Full sha256 hex digest of the context and build inputs (the tag is its first 8 characters). */
  digest: string
  /** Where the Dockerfile is inside the stream (`-f` for `docker build -`): outside the context it travels under a name that cannot collide. */
  dockerfile: string
  /** Streams the entries as an uncompressed tar; it fails with a `changed` error when a file differs from what was hashed. */
  tar(): Readable
  /**
   * Paths the tar carries for the builder that COPY must not see: a Dockerfile from outside the context,
   * and the `.dockerignore` kudev made to hide it (listed only when the context has none of its own). The
   * tar's `.dockerignore` hides them from `docker build`; a builder that reads another ignore file (podman
   * prefers `.containerignore`) must exclude exactly these instead.
   */
  hiddenInTar: string[]
  /**
   * The same entries as a folder, for a builder that syncs a folder incrementally (BuildKit sends only what
   * changed since its last build of that folder). Undefined when kudev cannot make one now (another kudev
   * run is building from it); then send the tar.
   */
  folder(): Promise<FolderContext | undefined>
}

/**
 * A folder kudev keeps in its cache holding exactly the hashed entries (hard links to the project's files
 * where the file system allows), and a copy of the Dockerfile outside it. Build it as `docker build -f
 * <dockerfile> <root>`: the empty `<dockerfile>.dockerignore` kudev writes beside the copy keeps BuildKit
 * from applying the context's own .dockerignore (one of the entries) a second time.
 */
export interface FolderContext {
  root: string
  /** Absolute path of the Dockerfile copy. */
  dockerfile: string
  /**
   * Call once the build has read the folder and before the image gets its tag: fails with a `changed`
   * error (as `tar()` does) when a file moved since it was hashed, so a tag never names other content.
   */
  verify(): Promise<void>
}

/** The core services every plugin gets: kudev's logger, subprocess runner and error type, bound to this run. */
export interface BaseToolkit {
  logger: {
    debug(message: string): void
    info(message: string): void
    warn(message: string): void
    enabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean
  }
  /** Runs a program with an argument array; `-v` shows its command line; failures carry its last stderr lines. */
  exec(file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>
  /** Like exec, with stdout as a stream (e.g. `docker save`). */
  execStream(
    file: string,
    args: readonly string[],
    options?: Omit<ExecOptions, 'onLine' | 'input'>,
  ): Promise<{stdout: Readable; done: Promise<ExecResult>}>
  /** An error users see as one line, a hint and the exit code named `code` (docs/exit-codes.md). */
  error(code: ExitCodeName, message: string, options?: KudevErrorOptions): Error
}

export interface DockerOptions extends Omit<ExecOptions, 'allowFailure' | 'errorCode' | 'notFoundHint'> {
  /** The code of the error a failure gets (default `engine`). */
  errorCode?: ExitCodeName
  /** A non-zero result to return instead of failing (e.g. "No such image"). */
  accept?(result: ExecResult): boolean
}

/** A builder's image CLI (docker, podman) as toolkit.dropBuildLeftovers runs it: every command may fail. */
export interface ImageCli {
  file: string
  /** What every command runs with (environment, install hint). */
  options?: Omit<ExecOptions, 'allowFailure'>
  /** The builder's inspect(). */
  inspect(ref: string): Promise<ImageInfo | undefined>
  /** Lists the IDs of untagged images, one a line; a `--filter label=<name>=<value>` per label is appended. */
  listDangling: readonly string[]
  /** Removes images, not forced; their IDs are appended. */
  removeImages: readonly string[]
  /** Points the tag `ref` at the image `id`. */
  retag(id: string, ref: string): string[]
  /** Removes the tag `ref`. */
  untag(ref: string): string[]
  /** The stderr line that says why a command failed; without one the command and its exit code are named. */
  reason(stderr: string): string | undefined
}

/** The Docker engine's platform, which is the platform of cluster nodes that are its containers. */
export interface DockerHost {
  /** `linux/amd64`, `linux/arm64`: what `docker save --platform` and `ctr import --platform` take. */
  platform: string
  /** True when Docker keeps images in containerd (the containerd image store, default since Docker 29 / Desktop 4.34). */
  containerdStore: boolean
  /**
   * True when the engine runs on this machine in its network (not Docker Desktop's VM, a remote or a
   * rootless engine) and keeps its own image store: it can push to a registry kudev runs on 127.0.0.1,
   * handing over only the layers it never pushed (loadIntoNodes does, unless KUDEV_LOOPBACK_PUSH=0).
   */
  sharesLoopback: boolean
}

/** A cluster node that is a Docker container (kind, Docker Desktop's kind mode). */
export interface ClusterNode {
  name: string
  /** `running`, `exited`, `paused`, … as `docker ps` reports it. */
  state: string
}

/**
 * nodesWithout for has() and the load() that follows it in the same run: load() takes has()'s answer
 * instead of asking every node again (0.2 s on a kind cluster). `toolkit.lackingNodes()` makes one.
 */
export interface LackingNodes {
  /** For has(): the nodes without the image (its name pointing at its ID), remembered for forLoad(). */
  ask(nodes: readonly ClusterNode[], image: ImageRef): Promise<string[]>
  /** For load(): what ask() answered for the same nodes and image, taken once; otherwise the nodes are asked now. */
  forLoad(nodes: readonly ClusterNode[], image: ImageRef): Promise<string[]>
}

/**
 * The CLI of a cluster whose nodes are containers (kind, k3d), which the loader runs only for --full-load
 * (otherwise it loads into the nodes itself). `toolkit.fullLoadCli(cli, installHint)` makes one.
 */
export interface FullLoadCli {
  /** The doctor row named after the CLI: the first line of `<cli> version`, or "not installed: needed only for --full-load" and the install hint. */
  diagnostic(): Promise<Diagnostic>
  /** For check() with --full-load: fails as `<cli> version` does (a `load` error, the install hint when it is missing). */
  require(): Promise<void>
  /** Whether `<cli> version` runs: for hints that name the CLI's own commands only when it is there. */
  installed(): Promise<boolean>
  /**
   * After the CLI exited 0 (`loaded`), since it may while a node failed: fails with a `load` error naming the
   * nodes of `cluster` that do not have `image` as one of `ids` (its ID, and the digests a saved archive names).
   */
  verifyLoaded(
    loaded: ExecResult,
    expected: {cluster: string; nodes: readonly ClusterNode[]; image: ImageRef; ids: ReadonlySet<string>},
  ): Promise<void>
}

/**
 * Services kudev lends plugins, so every plugin logs, runs programs and fails the same way, and loaders
 * share what they all need: the docker CLI, image archives, and nodes that are containers.
 */
export interface PluginToolkit extends BaseToolkit {
  /** Like execStream, as one stream that ends only once the program exited 0 and fails otherwise (e.g. `docker save`). */
  execOutput(file: string, args: readonly string[], options?: Omit<ExecOptions, 'onLine' | 'input'>): Promise<Readable>
  /** Runs docker (with an install hint when it is missing); a non-zero exit fails as "could not <doing>: <docker's last line>". */
  docker(args: readonly string[], doing: string, options?: DockerOptions): Promise<ExecResult>
  /** Asked of `docker info` once per run. */
  dockerHost(): Promise<DockerHost>
  /** A kind cluster's node containers (control-plane and workers, stopped ones too), sorted by name. */
  kindNodes(cluster: string): Promise<ClusterNode[]>
  /** A cluster's node containers by their labels (stopped ones too), sorted by name; `what` names the cluster in errors. */
  containerNodes(selector: NodeSelector, cluster: string, what: string): Promise<ClusterNode[]>
  /** The digests an OCI layout archive's index.json names (`docker save` ≥ 25): what `ctr import` points names at. */
  archiveTargets(archive: string): Promise<string[]>
  /** Fails with a `load` error, "<what>: node "x" is exited", when a node is not running. */
  requireRunning(nodes: readonly ClusterNode[], what: string, hint?: string): void
  /** The nodes (by name) whose containerd `k8s.io` namespace does not have `ref` as one of `ids`; checked in parallel. */
  nodesWithout(nodes: readonly ClusterNode[], ref: string, ids: ReadonlySet<string>): Promise<string[]>
  /** A new nodesWithout that remembers has()'s answer for the load() after it: one per loader. */
  lackingNodes(): LackingNodes
  /** `node "a"` or `nodes "a", "b"`: nodes as messages name them. */
  describeNodes(names: readonly string[]): string
  /** The cluster's own CLI that only --full-load runs: its doctor row, its check, and the nodes checked after it loaded. */
  fullLoadCli(cli: string, installHint: string): FullLoadCli
  /** A name as containerd and CRI store it: `app:1` → `docker.io/library/app:1`. */
  normalizeRef(ref: string): string
  /** Writes the image as a `docker save`-format tar: from the Docker daemon when it is there (for one platform when given), else through its builder. */
  saveImage(image: LoadableImage, file: string, signal: AbortSignal, platform?: string): Promise<void>
  /**
   * A `kudev doctor` row (a diagnose() result) from a check that returns what it found, or throws what
   * `kudev up` would fail with: its message becomes the row's summary and its hint the row's hint.
   */
  diagnostic(name: string, check: () => Promise<Finding>): Promise<Diagnostic>
  /** The last lines of a program's output (where tools say why they failed), without terminal colour codes, for an error's details. */
  lastLines(text: string): string[]
  /**
   * Loads the image into nodes that are containers running containerd (kind-style): takes its layers from
   * Docker once (a push to a loopback registry that receives only the layers Docker never pushed, where
   * the engine shares this machine's loopback; else a save), sends each node only the layers it lacks (the
   * whole image when `full`, or when a trimmed load fails), and checks each node lists it complete and
   * unpacked. From Docker's containerd image store, only the engine's platform is saved (kind#3795).
   */
  loadIntoNodes(image: LoadableImage, nodes: readonly string[], options: NodeLoadOptions): Promise<NodeLoad[]>
  /** Runs `work` with a new temporary folder, removed afterwards whatever happens. */
  withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T>
  /** True the first time `key` is asked on this machine: for a notice worth reading once, not on every run. */
  firstTime(key: string): boolean
  /** After a failed or stopped build: the tag back on `previous` if it carries all `labels`, else removed; the build's untagged images removed. */
  dropBuildLeftovers(
    cli: ImageCli,
    ref: string,
    labels: Record<string, string>,
    previous: ImageInfo | undefined,
  ): Promise<void>
  /**
   * The distinct platforms (`linux/amd64`) of the nodes of the kube context's cluster, read from its API
   * server; undefined when they cannot be read (RBAC, unreachable: said under -v). Costs a request: for
   * loaders whose nodes pull (a registry), before they push.
   */
  nodePlatforms(context: string): Promise<string[] | undefined>
}

/** One line of `kudev doctor`: a check a plugin ran on what it depends on (a CLI, an engine, a cluster). */
export interface Diagnostic {
  name: string
  ok: boolean
  summary: string
  /** What to do when not ok. */
  hint?: string
}

/** What a passing doctor check found: its summary, and a hint worth showing even so. */
export type Finding = string | {summary: string; hint?: string}

export interface Builder {
  readonly name: string
  /** For `kudev doctor`: the tools and engine it needs, and their versions. */
  diagnose?(): Promise<Diagnostic[]>
  /** True when the images it builds live in the Docker daemon that `docker` reaches, so loaders can take them from there. */
  readonly dockerDaemon?: boolean
  /**
   * Called as kudev starts hashing the context, before inspect() and build(): start what they both wait
   * for (asking the engine its version). A failure here is reported by the call that needs what failed.
   */
  prepare?(): Promise<void>
  build(context: BuildContext, options: BuildOptions, signal: AbortSignal): Promise<ImageRef>
  /** The image's ID and labels, or undefined when it does not exist; used to skip builds. */
  inspect(ref: string): Promise<ImageInfo | undefined>
  /** The image as a `docker save`-format tar, for loaders whose cluster cannot see the builder's store. */
  save(ref: string): Promise<Readable>
}

/** What a kube context looks like to a loader deciding whether to claim it. */
export interface KubeContextInfo {
  name: string
  cluster?: string
  server?: string
  extensions: Record<string, unknown>
  clusterExtensions: Record<string, unknown>
}

/** A loader's parameters for one cluster, derived from the kube context it claimed. */
export interface LoadTarget {
  context: string
  /** Loader-specific: kind cluster name, minikube profile, … */
  params: Record<string, string>
}

/** An image to load, with a way to get it whatever builder made it. */
export interface LoadableImage extends ImageRef {
  /** True when the image is in the Docker daemon `docker` reaches (e.g. built by the docker builder). */
  inDockerDaemon: boolean
  /** The image as a `docker save`-format tar, from the builder that made it (`docker save`, `podman save`). */
  save(): Promise<Readable>
}

export interface DetectOptions {
  /** The user chose this loader with --loader or spec.loader: return the best target for the context, or throw a clear error, instead of declining. */
  forced: boolean
  /** The registry to push to, named by the user (--registry, spec.registry) or advertised by the cluster: `host[:port][/path]`. */
  registry?: string
  /**
   * The name the cluster's nodes pull that registry by, when it is not `registry` (KEP-1755's
   * `hostFromContainerRuntime`, e.g. `kind-registry:5000` for `localhost:5001`): the name pods must use.
   */
  pullRegistry?: string
}

export interface Loader {
  readonly name: string
  /** For `kudev doctor`: the CLI it runs and its version, and whether the target cluster is reachable. */
  diagnose?(target: LoadTarget): Promise<Diagnostic[]>
  /**
   * Fails fast, before anything is built, with the error the load would end in: the cluster's nodes are not
   * there or not running, or a CLI this load needs is missing. `kudev up` calls it first (optional).
   */
  check?(target: LoadTarget, options?: LoadOptions): Promise<void>
  /** Is this image ID already on every node of the target cluster? */
  has(image: ImageRef, target: LoadTarget): Promise<boolean>
  /** The name pods must use when it is not the image's local name: e.g. the name a registry loader pushes. */
  clusterRef?(image: ImageRef, target: LoadTarget): string
  /**
   * Makes the image available on every node; verifies it, and fails clearly when it is not there
   * afterwards. Returns what was sent, for `--json` and `-v` (optional: older loaders return nothing).
   */
  load(image: LoadableImage, target: LoadTarget, signal: AbortSignal, options?: LoadOptions): Promise<LoadReport | void>
}

export interface LoadOptions {
  /** --full-load: send every node the whole image, the way the cluster's own CLI does. */
  full?: boolean
  /** For the progress line on a terminal: pass it on to toolkit.loadIntoNodes, or call it yourself. */
  onProgress?(progress: LoadProgress): void
}

/** How far a load is: the save that comes first (no `node`), or what a node was sent so far. */
export interface LoadProgress {
  node?: string
  /** Bytes saved or sent so far. */
  bytes: number
  /** Of how many, when known. */
  total?: number
}

/** How a load ran, and what each node was sent. */
export interface LoadReport {
  /** e.g. "trimmed per node", "kind load docker-image", "minikube image load". */
  method: string
  /** Per node, when the loader sends to nodes itself; empty when a CLI did it. */
  nodes: NodeLoad[]
}

export interface NodeLoadOptions {
  signal: AbortSignal
  /** Send every node the whole image (--full-load). */
  full?: boolean
  /** Called as the image is saved and as each node is sent it (LoadOptions.onProgress). */
  onProgress?(progress: LoadProgress): void
}

/** How a cluster labels its node containers: `<label>=<cluster>`, and a role label naming the nodes that run a kubelet. */
export interface NodeSelector {
  label: string
  roleLabel: string
  roles: readonly string[]
}

/** What one node was sent. */
export interface NodeLoad {
  node: string
  /** `trimmed`: an OCI layout without the layers the node held. `full`: the whole image. */
  mode: 'full' | 'trimmed'
  /**
   * How the layers left Docker: `push`, handed over by a `docker push` to kudev's loopback registry (only
   * the layers Docker never pushed before: milliseconds after an edit); `save`, a `docker save` of the
   * whole image (or the builder's save, for an image not in Docker). Set by toolkit.loadIntoNodes.
   */
  source?: 'push' | 'save'
  /** Bytes streamed into the node. */
  bytesSent: number
  blobsSent: number
  /** Layers left out because the node held them, and their size. */
  blobsSkipped: number
  bytesSkipped: number
  /** Why the node got the whole image. */
  reason?: string
  durationMs: number
}

export interface BuilderDescriptor {
  apiVersion: number
  /** Lowercase letters, digits and dashes; what users pass to --builder. */
  name: string
  description: string
  /** Imports the implementation lazily, so registering costs nothing. */
  create(toolkit: PluginToolkit): Promise<Builder>
}

export interface LoaderDescriptor {
  apiVersion: number
  name: string
  description: string
  /** Claims a kube context by returning its target parameters; undefined when the context is not this loader's. */
  detect?(context: KubeContextInfo, options: DetectOptions): LoadTarget | undefined | Promise<LoadTarget | undefined>
  create(toolkit: PluginToolkit): Promise<Loader>
}

export interface RegistrationOptions {
  /** The descriptor API versions the running kudev supports. */
  apiVersions: readonly number[]
  kudevVersion: string
}

export type Registers<D> = D | D[]

// oclif declares Hooks in '@oclif/core/hooks'; augmenting '@oclif/core' itself would silently type hooks as any.
declare module '@oclif/core/hooks' {
  interface Hooks {
    'kudev:builders': {options: RegistrationOptions; return: Registers<BuilderDescriptor>}
    'kudev:loaders': {options: RegistrationOptions; return: Registers<LoaderDescriptor>}
  }
}

/** Type of a plugin's `kudev:builders` hook function. */
export type BuildersHook = Hook<'kudev:builders'>
/** Type of a plugin's `kudev:loaders` hook function. */
export type LoadersHook = Hook<'kudev:loaders'>
