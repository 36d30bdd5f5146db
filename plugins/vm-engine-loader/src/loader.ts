import type {Diagnostic, ImageRef, LoadableImage, Loader, LoadReport, LoadTarget, PluginToolkit} from 'kudev'
import {createReadStream} from 'node:fs'
import path from 'node:path'

import {type Engine, type Nerdctl, notFound, type Product} from './products.js'

/** How images reach the cluster: they are already on its Docker engine, or nerdctl loads them into its containerd. */
type Route = {shared: true; engine: Engine} | {shared: false; engine?: Engine; nerdctl: Nerdctl}

/**
 * A desktop VM whose Kubernetes (k3s) runs either on the VM's Docker engine, where an image that engine has
 * is already the cluster's, or on its containerd, whose `k8s.io` namespace is what the kubelet sees
 * (colima skills/references/runtimes.md: "Docker runtime — images built/pulled with Docker are available to
 * Kubernetes; Containerd runtime — images in the k8s.io namespace are available").
 */
export class VmEngineLoader implements Loader {
  readonly name: string

  constructor(
    private readonly toolkit: PluginToolkit,
    private readonly product: Product,
  ) {
    this.name = product.loader
  }

  private routes = new Map<string, Promise<Route>>()
  private engineInfo?: Promise<Engine | undefined>

  /** Before the build: the engine is the product's, or the nerdctl the load needs is there. */
  async check(target: LoadTarget): Promise<void> {
    await this.route(target)
  }

  /** For `kudev doctor`: which engine docker reaches, and how images reach the cluster. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    const {title} = this.product
    return [
      await this.toolkit.diagnostic('engine', async () => {
        const engine = await this.engine()
        if (engine === undefined) return 'docker reaches no engine'
        return `${describe(engine)}, ${this.product.owns(engine, target) ? `${title}'s` : `not ${title}'s`}`
      }),
      await this.toolkit.diagnostic('cluster', async () => {
        const route = await this.route(target)
        return route.shared
          ? `${title}'s Kubernetes runs on that engine: images built there need no load`
          : `${title}'s Kubernetes runs on containerd: images are loaded into its k8s.io namespace with ${route.nerdctl.summary}`
      }),
    ]
  }

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    const route = await this.route(target)
    const id = route.shared ? await this.daemonId(image.ref) : await this.clusterId(route.nerdctl, image.ref)
    return id === image.id
  }

  async load(image: LoadableImage, target: LoadTarget, signal: AbortSignal): Promise<LoadReport> {
    const route = await this.route(target)
    if (route.shared) {
      await this.loadIntoEngine(image, signal)
      return {
        method: image.inDockerDaemon
          ? `none: ${this.product.title}'s Kubernetes runs on the Docker engine`
          : 'docker load',
        nodes: [],
      }
    }

    await this.loadWithNerdctl(route.nerdctl, image, signal)
    return {method: 'nerdctl --namespace k8s.io load', nodes: []}
  }

  /** Asked once per target and run: `docker info`, and when the engine is not the product's, whether nerdctl can load. */
  private route(target: LoadTarget): Promise<Route> {
    let route = this.routes.get(target.context)
    if (route === undefined) {
      route = this.findRoute(target)
      this.routes.set(target.context, route)
    }

    return route
  }

  private async findRoute(target: LoadTarget): Promise<Route> {
    const engine = await this.engine()
    if (engine !== undefined && this.product.owns(engine, target)) return {engine, shared: true}
    const nerdctl = await this.product.nerdctl(
      this.toolkit,
      target,
      engine === undefined ? 'docker reaches none' : describe(engine),
    )
    return {engine, nerdctl, shared: false}
  }

  /**
   * The engine docker reaches, asked once; undefined when there is no docker or it answers nothing, which a
   * cluster on containerd does without (another builder made the image).
   */
  private engine(): Promise<Engine | undefined> {
    this.engineInfo ??= this.askEngine()
    return this.engineInfo
  }

  private async askEngine(): Promise<Engine | undefined> {
    let result
    try {
      result = await this.toolkit.docker(
        ['info', '--format', '{{.Name}}\t{{.OperatingSystem}}'],
        'ask Docker which engine it is',
        {
          accept: () => true,
        },
      )
    } catch (error) {
      if (notFound(error)) return undefined
      throw error
    }

    if (result.exitCode !== 0) {
      this.toolkit.logger.debug(`docker info failed: ${this.toolkit.lastLines(result.stderr).at(-1) ?? ''}`)
      return undefined
    }

    const [name = '', os = ''] = result.stdout.trim().split('\t')
    return {name, os}
  }

  /** The engine is the cluster's: an image from another builder goes into it with docker load. */
  private async loadIntoEngine(image: LoadableImage, signal: AbortSignal): Promise<void> {
    if (image.inDockerDaemon) {
      this.toolkit.logger.debug(
        `nothing to load: ${this.product.title}'s Kubernetes runs on the Docker engine, which has ${image.ref}`,
      )
      return
    }

    const archive = await image.save()
    try {
      await this.toolkit.docker(['load'], `load ${image.ref} into ${this.product.title}'s Docker engine`, {
        errorCode: 'load',
        input: archive,
        signal,
      })
    } finally {
      archive.destroy()
    }

    this.verify('docker load', 'the Docker engine', image, await this.daemonId(image.ref))
  }

  /**
   * nerdctl reads the archive on stdin rather than by path: colima's and Rancher Desktop's nerdctl run in
   * the VM, where a temporary folder of the host need not be mounted.
   */
  private async loadWithNerdctl(nerdctl: Nerdctl, image: LoadableImage, signal: AbortSignal): Promise<void> {
    await this.toolkit.withTempDir('kudev-vm-engine-', async (dir) => {
      const archive = path.join(dir, 'image.tar')
      // From Docker's containerd image store, a save of every platform fails on a base image pulled for one
      // (kind#3795): the engine's platform is the VM's, which runs on the same machine.
      const host = image.inDockerDaemon ? await this.toolkit.dockerHost() : undefined
      await this.toolkit.saveImage(image, archive, signal, host?.containerdStore ? host.platform : undefined)
      await this.toolkit.exec(nerdctl.file, [...nerdctl.args, '--namespace', 'k8s.io', 'load'], {
        errorCode: 'load',
        input: createReadStream(archive),
        signal,
      })
    })
    this.verify('nerdctl load', "containerd's k8s.io namespace", image, await this.clusterId(nerdctl, image.ref))
  }

  private verify(tool: string, where: string, image: ImageRef, found: string | undefined): void {
    if (found === image.id) return
    throw this.toolkit.error(
      'load',
      `${tool} finished, but ${where} has ${found === undefined ? `no ${image.ref}` : `${image.ref} as ${found}`}, not ${image.id}`,
      {data: {found, id: image.id, image: image.ref}, hint: `rerun with -v to see what ${tool} printed`},
    )
  }

  /** The ID the Docker engine has for `ref`, undefined when it has no such image. */
  private async daemonId(ref: string): Promise<string | undefined> {
    const result = await this.toolkit.docker(['image', 'inspect', '--format', '{{.Id}}', ref], `inspect ${ref}`, {
      accept: noSuchImage,
    })
    return result.exitCode === 0 ? result.stdout.trim() : undefined
  }

  /**
   * The ID containerd's k8s.io namespace has for `ref`: nerdctl's docker-compatible inspect gives the config
   * digest as Id, as Docker does (containerd/nerdctl pkg/inspecttypes/dockercompat, ImageFromNative).
   */
  private async clusterId(nerdctl: Nerdctl, ref: string): Promise<string | undefined> {
    const args = [...nerdctl.args, '--namespace', 'k8s.io', 'image', 'inspect', '--format', '{{.Id}}', ref]
    const result = await this.toolkit.exec(nerdctl.file, args, {allowFailure: true, errorCode: 'load'})
    if (result.exitCode === 0) return result.stdout.trim()
    if (noSuchImage(result)) return undefined
    throw this.toolkit.error(
      'load',
      `could not inspect ${ref} in ${this.product.title}'s containerd (${result.command} exited with code ${result.exitCode})`,
      {
        details: this.toolkit.lastLines(result.stderr),
        hint: 'rerun with -v to see every command kudev runs',
      },
    )
  }
}

/** Docker says "No such image: x"; nerdctl "no such image: x" (pkg/cmd/image/inspect.go, Inspect). */
const noSuchImage = (result: {stderr: string}) => /no such image/i.test(result.stderr)

function describe(engine: Engine): string {
  return `Docker engine "${engine.name}" (${engine.os})`
}
