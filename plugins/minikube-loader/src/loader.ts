import type {Diagnostic, ExecResult, ImageRef, LoadableImage, Loader, LoadTarget, PluginToolkit} from 'kudev'
import path from 'node:path'

const MINIKUBE = 'minikube'
const INSTALL_HINT = 'install minikube: https://minikube.sigs.k8s.io/docs/start/'

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
 * Loads with `minikube image load`, and trusts only `minikube image ls` afterwards: minikube exits 0
 * when a load fails (minikube#23023, "live pushes are not considered a failure").
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

  /**
   * From minikube's image list, which merges every running node's images by ID: it cannot tell that one
   * node of several lacks the image. minikube offers no per-node listing; a load puts it on every node.
   */
  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    return listed(await this.images(target), image, this.toolkit.normalizeRef)
  }

  async load(image: LoadableImage, target: LoadTarget, signal: AbortSignal): Promise<void> {
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
