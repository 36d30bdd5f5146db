import type {
  Diagnostic,
  ExecResult,
  ImageRef,
  LoadableImage,
  Loader,
  LoadReport,
  LoadTarget,
  PluginToolkit,
} from 'kudev'
import path from 'node:path'

const MICROK8S = 'microk8s'
const INSTALL_HINT = 'install MicroK8s: sudo snap install microk8s --classic'
const START_HINT = 'start it: microk8s start'

/** What `microk8s status` prints (scripts/wrappers/status.py and common/utils.py in canonical/microk8s). */
const RUNNING = 'microk8s is running'
/** exit_if_stopped (common/utils.py): the snap was stopped with `microk8s stop`; status exits 0 after it. */
const STOPPED = 'microk8s is not running, try microk8s start'
/** print_short: the API server does not list `service/kubernetes` or no node is Ready; status exits 1. */
const NOT_READY = 'microk8s is not running. Use microk8s inspect for a deeper inspection.'
/** exit_if_no_permissions (microk8s-resources/actions/common/utils.sh), in every wrapper. */
const NO_PERMISSION = 'Insufficient permissions to access MicroK8s.'

interface Manifest {
  config?: {digest?: string}
  manifests?: {digest: string; platform?: {architecture?: string; os?: string}}[]
}

/** Node's process.arch in OCI's spelling: MicroK8s is a snap on this machine, so its platform is this machine's. */
const ARCHITECTURES: Record<string, string> = {
  arm: 'arm',
  arm64: 'arm64',
  ppc64: 'ppc64le',
  s390x: 's390x',
  x64: 'amd64',
}

/**
 * Loads with `microk8s images import`, which sends the archive to the cluster agent of every node
 * (scripts/wrappers/images.py, do_image_import in distributed_op.py), and each runs
 * `microk8s ctr image import -` (ImportImage, pkg/snap/snap.go in canonical/microk8s-cluster-agent). It
 * exits 0 when a node fails ("Failed to import images on …" is only printed), so the image is looked up
 * afterwards with `microk8s ctr`, whose arguments file names the `k8s.io` namespace the kubelet reads
 * (microk8s-resources/default-args/ctr).
 */
export class Microk8sLoader implements Loader {
  readonly name = 'microk8s'

  constructor(private readonly toolkit: PluginToolkit) {}

  /** For `kudev doctor`: the MicroK8s version, and whether its cluster is running. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return Promise.all([
      this.toolkit.diagnostic('microk8s', async () => (await this.microk8s(['version'])).stdout.trim()),
      this.toolkit.diagnostic('cluster', () => this.status(target)),
    ])
  }

  /** Before a build: a stopped MicroK8s would make `images import` retry listing its nodes for 30 s. */
  async check(target: LoadTarget): Promise<void> {
    await this.status(target)
  }

  /**
   * From this machine's containerd. `microk8s images import` sends every node the image, but no command
   * lists another node's images, so a node that failed an earlier import cannot be seen from here.
   */
  async has(image: ImageRef): Promise<boolean> {
    return this.named(image)
  }

  async load(image: LoadableImage, target: LoadTarget, signal: AbortSignal): Promise<LoadReport> {
    const imported = await this.toolkit.withTempDir('kudev-microk8s-', async (dir) => {
      const archive = path.join(dir, 'image.tar')
      // Docker's containerd image store saves every platform's index entry but only the content it has
      // (kind#3795); MicroK8s runs on this machine, so the engine's platform is its platform.
      const platform = image.inDockerDaemon ? await this.dockerPlatform() : undefined
      await this.toolkit.saveImage(image, archive, signal, platform)
      return this.microk8s(['images', 'import', archive], signal)
    })
    const failed = imported.stdout.split('\n').filter((line) => /^Failed to (import images on|reach) /.test(line))
    if (failed.length > 0) {
      throw this.toolkit.error('load', `${imported.command} failed: ${failed[0]}`, {
        data: {context: target.context, image: image.ref},
        details: failed.slice(1),
        hint: 'microk8s inspect checks every service of the node that failed',
      })
    }

    if (!(await this.named(image))) {
      throw this.toolkit.error(
        'load',
        `microk8s images import exited 0, but MicroK8s does not have ${image.ref} (${image.id})`,
        {
          data: {context: target.context, id: image.id, image: image.ref},
          details: this.toolkit.lastLines(`${imported.stdout}\n${imported.stderr}`),
          hint: `see what containerd holds under the name: microk8s ctr images ls name==${this.toolkit.normalizeRef(image.ref)}`,
        },
      )
    }

    return {method: 'microk8s images import', nodes: []}
  }

  /** Only with Docker's containerd image store: the classic store saves one platform anyway. */
  private async dockerPlatform(): Promise<string | undefined> {
    const {containerdStore, platform} = await this.toolkit.dockerHost()
    return containerdStore ? platform : undefined
  }

  /**
   * Does the image's name point at its ID in containerd's `k8s.io` namespace? `ctr images ls` gives the
   * manifest (or index) digest the name points at; the ID is the config digest inside it, unless Docker's
   * containerd image store gave the manifest digest as the ID.
   */
  private async named(image: ImageRef): Promise<boolean> {
    const listed = await this.microk8s(['ctr', 'images', 'ls', `name==${this.toolkit.normalizeRef(image.ref)}`])
    // REF TYPE DIGEST SIZE PLATFORMS LABELS; the first three columns never contain spaces.
    const digest = listed.stdout
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/)[2])
      .find(Boolean)
    if (digest === undefined) return false
    if (digest === image.id) return true
    let manifest = await this.content(digest)
    if (manifest.manifests !== undefined) {
      const architecture = ARCHITECTURES[process.arch] ?? process.arch
      const entry = manifest.manifests.find(
        (m) => m.platform?.os === 'linux' && m.platform.architecture === architecture,
      )
      if (entry === undefined) return false
      manifest = await this.content(entry.digest)
    }

    return manifest.config?.digest === image.id
  }

  private async content(digest: string): Promise<Manifest> {
    const {command, stdout} = await this.microk8s(['ctr', 'content', 'get', digest])
    try {
      return JSON.parse(stdout) as Manifest
    } catch {
      throw this.toolkit.error('load', `${command} did not print a manifest`, {
        details: this.toolkit.lastLines(stdout),
        hint: 'microk8s ctr content get <digest> should print the manifest as JSON; is microk8s ctr the MicroK8s one?',
      })
    }
  }

  /**
   * `microk8s status --format short`, without --wait-ready: that sleeps 2 s between checks (wait_for_ready,
   * common/utils.py), and one check answers whether the cluster runs.
   */
  private async status(target: LoadTarget): Promise<string> {
    const result = await this.microk8s(['status', '--format', 'short'], undefined, true)
    const output = `${result.stdout}\n${result.stderr}`
    const first = output.trim().split('\n')[0]?.trim() ?? ''
    if (result.exitCode === 0 && first === RUNNING) return 'MicroK8s is running'
    const data = {context: target.context}
    if (output.includes(STOPPED)) {
      throw this.toolkit.error('load', `MicroK8s is stopped (kube context ${target.context})`, {data, hint: START_HINT})
    }

    if (output.includes(NOT_READY)) {
      throw this.toolkit.error('load', `MicroK8s is not running: its API server or node is not ready`, {
        data,
        hint: 'wait for it: microk8s status --wait-ready; microk8s inspect says what is wrong',
      })
    }

    if (output.includes(NO_PERMISSION)) {
      const usermod = output
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line.startsWith('sudo usermod'))
      throw this.toolkit.error('load', 'this user may not use MicroK8s (insufficient permissions)', {
        data,
        hint: `${usermod ?? 'sudo usermod -a -G microk8s $USER'}, then newgrp microk8s (or run kudev with sudo)`,
      })
    }

    throw this.toolkit.error(
      'load',
      `${result.command} did not say MicroK8s is running: ${first || `exit code ${result.exitCode}`}`,
      {data, details: this.toolkit.lastLines(output).slice(1), hint: 'microk8s inspect says what is wrong'},
    )
  }

  /** Runs microk8s; a non-zero exit fails with its last line unless `answered` (the caller reads the exit code). */
  private async microk8s(args: string[], signal?: AbortSignal, answered = false): Promise<ExecResult> {
    const result = await this.toolkit.exec(MICROK8S, args, {
      allowFailure: true,
      errorCode: 'load',
      // The wrappers run python and ctr under sudo; they pass no signal on.
      killTree: true,
      notFoundHint: INSTALL_HINT,
      onLine: (line) => this.toolkit.logger.debug(`microk8s: ${line}`),
      signal,
    })
    if (result.exitCode === 0 || answered) return result
    const lines = this.toolkit.lastLines(`${result.stderr}\n${result.stdout}`)
    const reason = lines.at(-1) ?? `exit code ${result.exitCode}`
    throw this.toolkit.error('load', `${result.command} failed: ${reason}`, {
      data: {command: result.command, exitCode: result.exitCode},
      details: lines.slice(0, -1),
      hint: lines.some((line) => line.includes(NO_PERMISSION))
        ? 'sudo usermod -a -G microk8s $USER, then newgrp microk8s (or run kudev with sudo)'
        : 'is MicroK8s running? microk8s status says; microk8s inspect says what is wrong',
    })
  }
}
