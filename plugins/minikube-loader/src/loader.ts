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

const MINIKUBE = 'minikube'
const INSTALL_HINT = 'install minikube: https://minikube.sigs.k8s.io/docs/start/'
/** minikube's container drivers (driver.IsKIC, pkg/minikube/driver/driver.go): each node is a container. */
const CONTAINER_DRIVERS = new Set(['docker', 'podman'])
/** On every container minikube's kic driver creates (oci.CreatedByLabelKey, pkg/drivers/kic/oci/types.go). */
const CREATED_BY_LABEL = 'created_by.minikube.sigs.k8s.io'

/**
 * One profile of `minikube profile list -o json` (config.Profile and config.ClusterConfig,
 * pkg/minikube/config/types.go, marshalled with Go's field names): only what the loader reads.
 */
interface ListedProfile {
  Name: string
  Config?: {
    Name?: string
    Driver?: string
    KubernetesConfig?: {ContainerRuntime?: string}
    /** The primary node first; its Name is "" (config.Node). */
    Nodes?: {Name: string}[] | null
  } | null
}

/** The profile's node containers, when kudev can load into them itself; else why not. */
type Route = {nodes: ClusterNode[]} | {reason: string}

/** One node of `minikube status --output json` (an object for one node, an array for several). */
interface NodeStatus {
  Name: string
  Host: string
  Kubelet: string
}

/** One entry of `minikube image ls --format json`. */
interface ListedImage {
  id: string
  repoTags: string[]
}

/**
 * On the docker and podman drivers with the containerd runtime, whose nodes are containers running
 * containerd, loads into the nodes itself, each sent only the layers it lacks (toolkit.loadIntoNodes,
 * which checks every node afterwards). Elsewhere (VM drivers, the docker or cri-o runtime) and with
 * --full-load, loads with `minikube image load`, and trusts only `minikube image ls` afterwards:
 * minikube exits 0 when a load fails (minikube#23023, "live pushes are not considered a failure").
 */
export class MinikubeLoader implements Loader {
  readonly name = 'minikube'

  constructor(private readonly toolkit: PluginToolkit) {}

  /** For `kudev doctor`: the minikube CLI's version, and the state of the profile's nodes. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return Promise.all([
      this.toolkit.diagnostic('minikube', async () =>
        (
          await this.toolkit.exec(MINIKUBE, ['version', '--short'], {errorCode: 'load', notFoundHint: INSTALL_HINT})
        ).stdout.trim(),
      ),
      this.toolkit.diagnostic('cluster', () => this.status(target)),
    ])
  }

  /** Before a build: every node of the profile is running. */
  async check(target: LoadTarget): Promise<void> {
    await this.status(target)
  }

  /**
   * From minikube's image list, which merges every running node's images by ID: it cannot tell that one
   * node of several lacks the image. minikube offers no per-node listing; a load puts it on every node.
   */
  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    return listed(await this.images(target), image, this.toolkit.normalizeRef)
  }

  async load(
    image: LoadableImage,
    target: LoadTarget,
    signal: AbortSignal,
    options: LoadOptions = {},
  ): Promise<LoadReport> {
    if (!options.full) {
      const route = await this.route(target, signal)
      if ('nodes' in route) {
        const lacking = await this.toolkit.nodesWithout(route.nodes, image.ref, new Set([image.id]))
        return {
          method: 'trimmed per node',
          nodes: await this.toolkit.loadIntoNodes(image, lacking, {onProgress: options.onProgress, signal}),
        }
      }

      this.toolkit.logger.debug(
        `minikube profile "${profileOf(target)}": ${route.reason}, so minikube image load loads it`,
      )
    }

    await this.imageLoad(image, target, signal)
    return {method: 'minikube image load', nodes: []}
  }

  /**
   * Whether kudev can load into the profile's nodes itself, from `minikube profile list -o json --light`,
   * which reads only the profiles' config.json (cmd/minikube/cmd/config/profile_list.go: --light skips
   * asking every cluster its status; minikube's own test wants it under 3 s). The profile's Driver and
   * KubernetesConfig.ContainerRuntime say whether its nodes are containers running containerd; its Nodes
   * name them as config.MachineName does (pkg/minikube/config/profile.go): `<profile>` for the primary
   * node (Name ""), `<profile>-m02`, … for the others, which the kic driver gives its containers
   * (pkg/drivers/kic/kic.go). The nodes must be containers `docker` sees: podman's are only when `docker`
   * talks to podman. As minikube's own load (machine.DoLoadImages), stopped nodes are left out.
   */
  private async route(target: LoadTarget, signal: AbortSignal): Promise<Route> {
    const profile = profileOf(target)
    const listed = await this.toolkit.exec(MINIKUBE, ['profile', 'list', '--output', 'json', '--light'], {
      allowFailure: true,
      errorCode: 'load',
      notFoundHint: INSTALL_HINT,
      signal,
    })
    const profiles = listed.exitCode === 0 ? validProfiles(listed.stdout) : undefined
    if (!profiles) {
      const said = this.toolkit.lastLines(`${listed.stderr}\n${listed.stdout}`).at(-1)
      return {reason: `${listed.command} gave no profile list (exit code ${listed.exitCode}${said ? `: ${said}` : ''})`}
    }

    const config = profiles.find((entry) => entry.Name === profile)?.Config
    if (!config) return {reason: `${listed.command} does not list it`}
    const driver = config.Driver ?? ''
    if (!CONTAINER_DRIVERS.has(driver)) return {reason: `its driver "${driver}" does not run its nodes as containers`}
    const runtime = config.KubernetesConfig?.ContainerRuntime ?? ''
    if (runtime !== 'containerd') return {reason: `its container runtime is "${runtime}", not containerd`}
    const nodes = config.Nodes ?? []
    if (nodes.length === 0) return {reason: `${listed.command} lists no nodes for it`}
    const cluster = config.Name || profile
    const machines = nodes.map((node) =>
      (nodes.length === 1 && nodes[0]!.Name === node.Name) || node.Name === '' ? cluster : `${cluster}-${node.Name}`,
    )

    let containers: Map<string, string>
    try {
      const {stdout} = await this.toolkit.docker(
        ['ps', '-a', '--filter', `label=${CREATED_BY_LABEL}=true`, '--format', '{{.Names}}\t{{.State}}'],
        "list minikube's node containers",
        {errorCode: 'load', signal},
      )
      containers = new Map(
        stdout
          .split('\n')
          .map((line) => line.trim().split('\t'))
          .filter(([name]) => name)
          .map(([name = '', state = '']) => [name, state]),
      )
    } catch (error) {
      if (signal.aborted) throw error
      return {reason: `docker cannot list its node containers (${(error as Error).message})`}
    }

    const unseen = machines.filter((machine) => !containers.has(machine))
    if (unseen.length > 0) {
      return {
        reason:
          driver === 'podman'
            ? `docker does not see its node containers (podman driver: ${unseen.join(', ')})`
            : `docker does not see its node ${unseen.length === 1 ? 'container' : 'containers'} ${unseen.join(', ')}`,
      }
    }

    const all = machines.map((name) => ({name, state: containers.get(name) ?? ''}))
    const running = all.filter((node) => node.state === 'running')
    if (running.length === 0) {
      this.toolkit.requireRunning(
        all,
        `minikube profile "${profile}" is not running`,
        `start it: minikube start -p ${profile}`,
      )
    }

    for (const node of all) {
      if (node.state !== 'running')
        this.toolkit.logger.debug(
          `minikube node "${node.name}" is ${node.state}: not loaded, as minikube image load leaves it`,
        )
    }

    return {nodes: running}
  }

  /** `minikube image load`, then `minikube image ls` must list it: minikube exits 0 when a load fails. */
  private async imageLoad(image: LoadableImage, target: LoadTarget, signal: AbortSignal): Promise<void> {
    const profile = profileOf(target)
    let loaded: ExecResult
    if (image.inDockerDaemon) {
      // --daemon: straight from Docker, without minikube first asking Docker Hub about the name.
      loaded = await this.minikube(target, ['image', 'load', image.ref, '--daemon'], signal)
    } else {
      loaded = await this.toolkit.withTempDir('kudev-minikube-', async (dir) => {
        // Through the builder that made it (`podman save`), as a tar minikube loads like any archive.
        const archive = path.join(dir, 'image.tar')
        await this.toolkit.saveImage(image, archive, signal)
        return this.minikube(target, ['image', 'load', archive], signal)
      })
    }

    if (!listed(await this.images(target), image, this.toolkit.normalizeRef)) {
      throw this.toolkit.error(
        'load',
        `${loaded.command} exited 0, but profile "${profile}" does not have ${image.ref} (${image.id})`,
        {
          data: {id: image.id, image: image.ref, profile},
          details: this.toolkit.lastLines(loaded.stderr),
          hint:
            'minikube reports success even when a load fails (https://github.com/kubernetes/minikube/issues/23023), e.g. while a running ' +
            `container uses the image this tag named before; rerun it with --alsologtostderr to see why: ${loaded.command} --alsologtostderr`,
        },
      )
    }
  }

  private async images(target: LoadTarget): Promise<ListedImage[]> {
    const {command, stdout} = await this.minikube(target, ['image', 'ls', '--format', 'json'])
    try {
      // minikube may print notices before the document.
      const listed: unknown = JSON.parse(stdout.slice(stdout.indexOf('[')))
      if (!Array.isArray(listed)) throw new TypeError('not a list')
      return listed as ListedImage[]
    } catch {
      throw this.toolkit.error(
        'load',
        `could not read the image list of minikube profile "${profileOf(target)}" from ${command}`,
        {
          details: this.toolkit.lastLines(stdout),
          hint: 'update minikube (https://minikube.sigs.k8s.io/docs/start/); this list needs --format json',
        },
      )
    }
  }

  /** Every node running, or an error naming those that are not. */
  private async status(target: LoadTarget): Promise<string> {
    const profile = profileOf(target)
    // Its exit code sets a bit for each part that is not running; the JSON tells which node.
    const {stdout} = await this.minikube(target, ['status', '--output', 'json'], undefined, (result) =>
      /^\s*[[{]/.test(result.stdout),
    )
    const parsed = JSON.parse(stdout) as NodeStatus | NodeStatus[]
    const nodes = Array.isArray(parsed) ? parsed : [parsed]
    const down = nodes.filter((node) => node.Host !== 'Running' || node.Kubelet !== 'Running')
    if (down.length > 0) {
      throw this.toolkit.error(
        'load',
        `minikube profile "${profile}" is not running: ${down.map((node) => `node "${node.Name}" is ${node.Host === 'Running' ? `up, its kubelet ${node.Kubelet}` : node.Host}`).join(', ')}`,
        {
          data: {profile},
          hint: `start it: minikube start -p ${profile}`,
        },
      )
    }

    return `minikube profile "${profile}": ${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.map((node) => `"${node.Name}"`).join(', ')} running`
  }

  /**
   * Runs minikube (its whole process tree goes on abort: it does not stop the `docker` commands it runs).
   * A non-zero exit fails, unless `answered` says the result is an answer all the same.
   */
  private async minikube(
    target: LoadTarget,
    args: string[],
    signal?: AbortSignal,
    answered?: (result: ExecResult) => boolean,
  ): Promise<ExecResult> {
    const profile = profileOf(target)
    const result = await this.toolkit.exec(MINIKUBE, ['-p', profile, ...args], {
      allowFailure: true,
      errorCode: 'load',
      killTree: true,
      notFoundHint: INSTALL_HINT,
      onLine: (line) => this.toolkit.logger.debug(`minikube: ${line}`),
      signal,
    })
    if (result.exitCode === 0 || answered?.(result)) return result
    const lines = this.toolkit.lastLines(`${result.stderr}\n${result.stdout}`)
    // "X Exiting due to MK_USAGE: loading profile: cluster "dev" does not exist"
    const reason =
      lines.map((line) => /Exiting due to [\w_]+: (.*)$/.exec(line)?.[1]).find(Boolean) ??
      lines.at(-1) ??
      `exit code ${result.exitCode}`
    // `image` commands exit "due to" it; `status` prints a notice and a suggestion after it.
    if (lines.some((line) => /cluster ".*" does not exist|Profile ".*" not found/.test(line))) {
      throw this.toolkit.error('load', `minikube profile "${profile}" (context ${target.context}) does not exist`, {
        data: {context: target.context, profile},
        hint: `is the cluster running? \`minikube profile list\` lists the profiles; \`minikube start -p ${profile}\` starts it`,
      })
    }

    throw this.toolkit.error('load', `${result.command} failed: ${reason}`, {
      data: {command: result.command, exitCode: result.exitCode},
      details: lines.filter((line) => !line.endsWith(reason)),
      hint: "the lines above are the end of minikube's output; rerun with -v to see all of it",
    })
  }
}

/**
 * The `valid` profiles of `minikube profile list -o json`, which writes its document last, without a
 * newline (printProfilesJSON); in JSON mode minikube's other messages are JSON lines of their own.
 */
function validProfiles(stdout: string): ListedProfile[] | undefined {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.trimStart().startsWith('{')) continue
    try {
      const valid = (JSON.parse(line) as {valid?: unknown}).valid
      if (Array.isArray(valid)) return valid as ListedProfile[]
    } catch {
      // not the document
    }
  }

  return undefined
}

function profileOf(target: LoadTarget): string {
  return target.params.profile || target.context
}

/**
 * Is `image` in the list under its own name? The kubelet looks it up by the name in the pod spec. minikube
 * lists containerd's `docker.io/library/app:1` for `app:1`, Docker's runtime lists `app:1`.
 */
function listed(images: ListedImage[], image: ImageRef, normalizeRef: (ref: string) => string): boolean {
  const wanted = normalizeRef(image.ref)
  return images.some(
    (entry) =>
      withoutAlgorithm(entry.id) === withoutAlgorithm(image.id) &&
      entry.repoTags.some((tag) => normalizeRef(tag) === wanted),
  )
}

/** minikube lists IDs as its runtime reports them, with or without `sha256:`. */
function withoutAlgorithm(id: string): string {
  return id.replace(/^sha256:/, '')
}
