import type {DetectOptions, KubeContextInfo, LoadTarget, PluginToolkit} from 'kudev'

import {colimaProfileId, detectColima, detectOrbStack, detectRancherDesktop} from './detect.js'

/** What `docker info` says of the engine kudev builds with: `{{.Name}}` (the VM's hostname) and `{{.OperatingSystem}}`. */
export interface Engine {
  name: string
  os: string
}

/** A nerdctl that reaches the cluster's containerd: the program, then the arguments that come before nerdctl's own. */
export interface Nerdctl {
  file: string
  args: string[]
  /** For `kudev doctor`: what runs it, e.g. `nerdctl 2.0.2`. */
  summary: string
}

export interface Product {
  /** The loader's name, as --loader takes it. */
  loader: 'colima' | 'orbstack' | 'rancher-desktop'
  title: string
  description: string
  detect(context: KubeContextInfo, options: DetectOptions): LoadTarget | undefined
  /** True when `engine` is the product's own Docker engine, the one its Kubernetes runs on. */
  owns(engine: Engine, target: LoadTarget): boolean
  /** How to point docker at the product's engine. */
  useEngine(target: LoadTarget): string
  /**
   * When the cluster runs on containerd instead: the nerdctl that loads into its `k8s.io` namespace, after
   * checking it can; fails with what to switch or install. `engine` is what docker reaches, if anything.
   */
  nerdctl(toolkit: PluginToolkit, target: LoadTarget, engine: string, signal?: AbortSignal): Promise<Nerdctl>
}

/** The error exec throws for a program that is not on PATH (src/exec/run.ts). */
export function notFound(error: unknown): boolean {
  return (error as {data?: {notFound?: boolean}}).data?.notFound === true
}

const rancherDesktop: Product = {
  description:
    "Makes images available to Rancher Desktop's Kubernetes (nothing to do on its dockerd engine; nerdctl --namespace k8s.io load on containerd)",
  detect: detectRancherDesktop,
  loader: 'rancher-desktop',
  async nerdctl(toolkit, _target, engine, signal) {
    try {
      const {stdout} = await toolkit.exec('nerdctl', ['--version'], {errorCode: 'load', signal})
      return {args: [], file: 'nerdctl', summary: stdout.trim()}
    } catch (error) {
      if (!notFound(error)) throw error
      throw toolkit.error(
        'load',
        `Rancher Desktop's Kubernetes does not run on the Docker engine kudev builds with (${engine}), and nerdctl is not on PATH`,
        {
          hint: "switch Rancher Desktop to Preferences → Container Engine → dockerd (moby) and run `docker context use rancher-desktop`, or put Rancher Desktop's nerdctl (~/.rd/bin) on PATH",
        },
      )
    }
  },
  // lima-config.yaml's provisioning script sets the VM's hostname to lima-rancher-desktop (macOS, Linux);
  // on Windows dockerd runs in the rancher-desktop WSL distribution, which names itself in os-release.
  owns: (engine) => engine.name === 'lima-rancher-desktop' || engine.os === 'Rancher Desktop WSL Distribution',
  title: 'Rancher Desktop',
  // pkg/rancher-desktop/utils/dockerDirManager.ts, getDesiredDockerContext.
  useEngine: () => 'docker context use rancher-desktop',
}

const orbStack: Product = {
  description: "Makes images available to OrbStack's Kubernetes, which runs on OrbStack's Docker engine",
  detect: detectOrbStack,
  loader: 'orbstack',
  // OrbStack has no containerd mode: "Kubernetes uses the same container engine as the rest of OrbStack" (docs.orbstack.dev/kubernetes).
  async nerdctl(toolkit, target, engine) {
    throw toolkit.error(
      'load',
      `OrbStack's Kubernetes sees only the images of OrbStack's Docker engine, and kudev builds with another (${engine})`,
      {hint: `point docker at OrbStack: ${this.useEngine(target)}`},
    )
  },
  owns: (engine) => engine.os === 'OrbStack',
  title: 'OrbStack',
  useEngine: () => 'docker context use orbstack',
}

const colima: Product = {
  description:
    "Makes images available to colima's Kubernetes (nothing to do on the docker runtime; colima nerdctl -- --namespace k8s.io load on containerd)",
  detect: detectColima,
  loader: 'colima',
  /**
   * Always `colima nerdctl --profile P --`, never a plain nerdctl: the one `colima nerdctl install` puts on
   * PATH is bound to the profile current when it was installed (cmd/nerdctl.go, nerdctlScript), and any
   * other reaches a containerd outside colima's VM. It passes stdin on through `limactl shell`.
   */
  async nerdctl(toolkit, target, engine, signal) {
    const profile = profileOf(target)
    const status = await toolkit.exec('colima', ['status', '--profile', profile, '--json'], {
      allowFailure: true,
      errorCode: 'load',
      notFoundHint: 'install colima: https://github.com/abiosoft/colima#installation',
      signal,
    })
    const start = `colima start${profile === 'default' ? '' : ` --profile ${profile}`} --kubernetes`
    if (status.exitCode !== 0)
      throw toolkit.error('load', `colima profile "${profile}" is not running`, {
        details: toolkit.lastLines(status.stderr),
        hint: `start it: ${start}`,
      })
    // app/app.go, statusInfo: {"runtime": "docker" | "containerd" | "incus", …}.
    const {runtime} = JSON.parse(status.stdout) as {runtime?: string}
    if (runtime === 'docker')
      throw toolkit.error(
        'load',
        `colima profile "${profile}" runs Kubernetes on its Docker engine, and kudev builds with another (${engine})`,
        {hint: `point docker at it: ${this.useEngine(target)}`},
      )
    if (runtime !== 'containerd')
      throw toolkit.error(
        'load',
        `colima profile "${profile}" runs the ${runtime ?? 'unknown'} runtime, not docker or containerd`,
        {
          hint: `restart it with Kubernetes on docker: colima stop${profile === 'default' ? '' : ` --profile ${profile}`} && ${start} --runtime docker`,
        },
      )
    return {
      args: ['nerdctl', '--profile', profile, '--'],
      file: 'colima',
      summary: `colima nerdctl (profile "${profile}", containerd)`,
    }
  },
  // colima's VM hostname defaults to the profile ID (cmd/start.go), and dockerd reports it as Name.
  owns: (engine, target) => engine.name === colimaProfileId(profileOf(target)),
  title: 'colima',
  // environment/container/docker/context.go: the docker context is named after the profile ID.
  useEngine: (target) => `docker context use ${colimaProfileId(profileOf(target))}`,
}

function profileOf(target: LoadTarget): string {
  return target.params.profile ?? 'default'
}

export const PRODUCTS: readonly Product[] = [rancherDesktop, orbStack, colima]
