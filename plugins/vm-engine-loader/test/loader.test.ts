/**
 * The loader against the outputs of the programs it runs, in upstream's shapes. Rancher Desktop, OrbStack
 * and colima cannot run here, and no stand-in for a Docker engine is allowed, so every program is answered.
 *
 * `docker info --format '{{.Name}}\t{{.OperatingSystem}}'`, from published `docker info` outputs:
 * - Rancher Desktop (macOS, Linux): Name lima-rancher-desktop, set by rancher-desktop
 *   pkg/rancher-desktop/assets/lima-config.yaml ("hostname lima-rancher-desktop"); Operating System "Alpine Linux v3.20".
 * - Rancher Desktop (Windows): Operating System "Rancher Desktop WSL Distribution"; Name is the Windows host's.
 * - OrbStack: Name orbstack, Operating System "OrbStack".
 * - colima: Name is the VM's hostname, the profile ID by default (abiosoft/colima cmd/start.go).
 * - Docker Desktop: Name docker-desktop, Operating System "Docker Desktop".
 * nerdctl: `image inspect --format {{.Id}}` prints the config digest (pkg/inspecttypes/dockercompat, ImageFromNative);
 * a missing image fails through logrus as `level=fatal msg="1 errors:\nno such image: …"` (pkg/cmd/image/inspect.go);
 * `load` prints "Loaded image: …" (pkg/transferutil/progress.go). `colima status --json` prints app/app.go's statusInfo.
 */
import {expect} from 'chai'
import type {ExecOptions, LoadableImage, LoadTarget} from 'kudev'
import {fakeToolkit, rejection} from 'kudev/testing'
import {writeFileSync} from 'node:fs'
import {Readable} from 'node:stream'
import {text} from 'node:stream/consumers'

import {KudevError} from '../../../src/output/errors.js'
import {VmEngineLoader} from '../src/loader.js'
import {PRODUCTS, type Product} from '../src/products.js'

const ID = `sha256:${'c'.repeat(64)}`
const OTHER = `sha256:${'d'.repeat(64)}`
const signal = new AbortController().signal

const ENGINES = {
  colima: 'colima\tUbuntu 24.04.1 LTS',
  colimaDev: 'colima-dev\tUbuntu 24.04.1 LTS',
  dockerDesktop: 'docker-desktop\tDocker Desktop',
  orbstack: 'orbstack\tOrbStack',
  rancherDesktop: 'lima-rancher-desktop\tAlpine Linux v3.20',
  rancherDesktopWindows: 'DESKTOP-D4CTSEB\tRancher Desktop WSL Distribution',
}

const NO_SUCH_IMAGE =
  'time="2025-03-01T10:00:00Z" level=fatal msg="1 errors:\\nno such image: docker.io/library/app:1"\n'

function product(name: string): Product {
  return PRODUCTS.find((candidate) => candidate.loader === name)!
}

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: ID,
    inDockerDaemon: true,
    ref: 'app:1',
    save: () => Promise.resolve(Readable.from(['tar from the builder'])),
    ...more,
  }
}

const notFound = (program: string) =>
  new KudevError('load', `${program} is not installed (not found on PATH)`, {data: {notFound: true}})

interface Setup {
  /** What `docker info` says; undefined: docker is not installed. */
  engine?: string
  /** The ID Docker has for app:1, before and after `docker load`. */
  daemon?: string
  afterDockerLoad?: string
  /** The ID containerd's k8s.io namespace has for app:1, before and after `nerdctl load`; null: no nerdctl. */
  cluster?: string | null
  afterNerdctlLoad?: string
  /** `colima status --json`'s runtime; undefined: the profile is not running. */
  colimaRuntime?: string
}

/** Answers docker, nerdctl and colima as a desktop VM set up as `setup` says; records what nerdctl load was sent. */
function desktop(setup: Setup) {
  let daemon = setup.daemon
  let cluster = setup.cluster
  const loaded: string[] = []
  const toolkit = fakeToolkit(async (command, options: ExecOptions) => {
    const line = command.join(' ')
    if (command[0] === 'docker' && setup.engine === undefined) throw notFound('docker')
    if (line === 'docker info --format {{.Name}}\t{{.OperatingSystem}}') return {stdout: `${setup.engine}\n`}
    if (line.startsWith('docker info --format {{.OSType}}'))
      return {stdout: 'linux\taarch64\t[["driver-type","io.containerd.snapshotter.v1"]]\n'}
    if (line === 'docker image inspect --format {{.Id}} app:1')
      return daemon === undefined
        ? {exitCode: 1, stderr: 'Error response from daemon: No such image: app:1\n'}
        : {stdout: `${daemon}\n`}
    if (line === 'docker load') {
      daemon = setup.afterDockerLoad
      return {stdout: 'Loaded image: app:1\n'}
    }

    if (command[0] === 'docker' && command[1] === 'save') {
      writeFileSync(command[command.indexOf('-o') + 1]!, 'tar from docker')
      return {stdout: ''}
    }

    if (command[0] === 'colima' && command[1] === 'status') {
      return setup.colimaRuntime === undefined
        ? {exitCode: 1, stderr: 'time="2025-03-01T10:00:00Z" level=fatal msg="colima [profile=dev] is not running"\n'}
        : {
            stdout: `${JSON.stringify({arch: 'aarch64', display_name: 'colima [profile=dev]', driver: 'macOS Virtualization.Framework', kubernetes: true, mount_type: 'virtiofs', runtime: setup.colimaRuntime, cpu: 2, disk: 107374182400, memory: 2147483648})}\n`,
          }
    }

    const nerdctl = nerdctlArgs(command)
    if (nerdctl === undefined) return undefined
    if (cluster === null) throw notFound(command[0]!)
    const rest = nerdctl.join(' ')
    if (rest === '--version') return {stdout: 'nerdctl version 2.0.3\n'}
    if (rest === '--namespace k8s.io image inspect --format {{.Id}} app:1')
      return cluster === undefined ? {exitCode: 1, stderr: NO_SUCH_IMAGE} : {stdout: `${cluster}\n`}
    if (rest === '--namespace k8s.io load') {
      loaded.push(await text(options.input as Readable))
      cluster = setup.afterNerdctlLoad
      return {stdout: 'Loaded image: docker.io/library/app:1\n'}
    }

    return undefined
  })
  return {loaded, toolkit}
}

/** nerdctl's own arguments, whether run as nerdctl or through `colima nerdctl --profile P --`. */
function nerdctlArgs(command: string[]): string[] | undefined {
  if (command[0] === 'nerdctl') return command.slice(1)
  if (command[0] === 'colima' && command[1] === 'nerdctl') return command.slice(command.indexOf('--') + 1)
  return undefined
}

const rancher: LoadTarget = {context: 'rancher-desktop', params: {}}
const orbstack: LoadTarget = {context: 'orbstack', params: {}}
const colimaDefault: LoadTarget = {context: 'colima', params: {profile: 'default'}}
const colimaDev: LoadTarget = {context: 'colima-dev', params: {profile: 'dev'}}

describe('VM engine loaders (commands)', () => {
  describe("shared engine: docker reaches the product's own engine, which runs its Kubernetes", () => {
    const shared: [string, string, LoadTarget][] = [
      ['rancher-desktop', ENGINES.rancherDesktop, rancher],
      ['rancher-desktop', ENGINES.rancherDesktopWindows, rancher],
      ['orbstack', ENGINES.orbstack, orbstack],
      ['colima', ENGINES.colima, colimaDefault],
      ['colima', ENGINES.colimaDev, colimaDev],
    ]
    for (const [name, engine, target] of shared) {
      it(`${name} on "${engine.replace('\t', '", ')}: has() asks the engine for the ID; load() loads nothing`, async () => {
        expect(
          await new VmEngineLoader(desktop({daemon: ID, engine}).toolkit, product(name)).has(image(), target),
        ).to.equal(true)
        expect(
          await new VmEngineLoader(desktop({daemon: OTHER, engine}).toolkit, product(name)).has(image(), target),
        ).to.equal(false)
        expect(await new VmEngineLoader(desktop({engine}).toolkit, product(name)).has(image(), target)).to.equal(false)

        const {toolkit} = desktop({daemon: ID, engine})
        const loader = new VmEngineLoader(toolkit, product(name))
        await loader.check(target)
        const report = await loader.load(image(), target, signal)
        expect(report.method).to.match(/^none: .*'s Kubernetes runs on the Docker engine$/)
        expect(toolkit.commands.map((command) => command.join(' '))).to.deep.equal([
          'docker info --format {{.Name}}\t{{.OperatingSystem}}',
        ])
      })
    }

    it('docker loads an image from another builder, then checks the engine has its ID', async () => {
      const {toolkit} = desktop({afterDockerLoad: ID, engine: ENGINES.orbstack})
      expect(
        await new VmEngineLoader(toolkit, product('orbstack')).load(image({inDockerDaemon: false}), orbstack, signal),
      ).to.deep.equal({
        method: 'docker load',
        nodes: [],
      })
      expect(toolkit.commands.map((command) => command.join(' '))).to.include('docker load')

      const wrong = desktop({afterDockerLoad: OTHER, engine: ENGINES.orbstack}).toolkit
      const error = await rejection(
        new VmEngineLoader(wrong, product('orbstack')).load(image({inDockerDaemon: false}), orbstack, signal),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(`docker load finished, but the Docker engine has app:1 as ${OTHER}, not ${ID}`)
    })
  })

  describe('not shared, with nerdctl: saved, loaded into k8s.io, then checked', () => {
    it("Rancher Desktop on containerd while docker reaches Docker Desktop: nerdctl --namespace k8s.io load of Docker's save", async () => {
      const {loaded, toolkit} = desktop({afterNerdctlLoad: ID, daemon: ID, engine: ENGINES.dockerDesktop})
      const loader = new VmEngineLoader(toolkit, product('rancher-desktop'))
      expect(await loader.has(image(), rancher)).to.equal(false)
      expect(await loader.load(image(), rancher, signal)).to.deep.equal({
        method: 'nerdctl --namespace k8s.io load',
        nodes: [],
      })
      expect(loaded).to.deep.equal(['tar from docker'])
      const save = toolkit.commands.find((command) => command[1] === 'save')!
      // Docker's containerd image store: the engine's platform only.
      expect(save.slice(0, 4)).to.deep.equal(['docker', 'save', '--platform', 'linux/arm64'])
      expect(await loader.has(image(), rancher)).to.equal(true)
    })

    it('with no docker at all, loads what another builder saved', async () => {
      const {loaded, toolkit} = desktop({afterNerdctlLoad: ID})
      await new VmEngineLoader(toolkit, product('rancher-desktop')).load(
        image({inDockerDaemon: false}),
        rancher,
        signal,
      )
      expect(loaded).to.deep.equal(['tar from the builder'])
    })

    it('colima on containerd: colima nerdctl --profile P --, as the profile of the context', async () => {
      const {loaded, toolkit} = desktop({afterNerdctlLoad: ID, colimaRuntime: 'containerd', engine: ENGINES.orbstack})
      await new VmEngineLoader(toolkit, product('colima')).load(image({inDockerDaemon: false}), colimaDev, signal)
      expect(loaded).to.deep.equal(['tar from the builder'])
      expect(toolkit.commands.map((command) => command.join(' '))).to.include.members([
        'colima status --profile dev --json',
        'colima nerdctl --profile dev -- --namespace k8s.io load',
        'colima nerdctl --profile dev -- --namespace k8s.io image inspect --format {{.Id}} app:1',
      ])
    })

    it('fails when the name does not point at the image afterwards', async () => {
      const missing = desktop({engine: ENGINES.dockerDesktop}).toolkit
      const error = await rejection(
        new VmEngineLoader(missing, product('rancher-desktop')).load(image(), rancher, signal),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(`nerdctl load finished, but containerd's k8s.io namespace has no app:1, not ${ID}`)
      const other = desktop({afterNerdctlLoad: OTHER, engine: ENGINES.dockerDesktop}).toolkit
      const wrong = await rejection(
        new VmEngineLoader(other, product('rancher-desktop')).load(image(), rancher, signal),
      )
      expect(wrong.message).to.equal(
        `nerdctl load finished, but containerd's k8s.io namespace has app:1 as ${OTHER}, not ${ID}`,
      )
    })
  })

  describe('not shared, and nothing to load with: the error says what to switch or install', () => {
    it('Rancher Desktop without nerdctl on PATH', async () => {
      const {toolkit} = desktop({cluster: null, engine: ENGINES.dockerDesktop})
      const error = await rejection(new VmEngineLoader(toolkit, product('rancher-desktop')).check(rancher))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `Rancher Desktop's Kubernetes does not run on the Docker engine kudev builds with (Docker engine "docker-desktop" (Docker Desktop)), and nerdctl is not on PATH`,
      )
      expect(error.hint).to.equal(
        "switch Rancher Desktop to Preferences → Container Engine → dockerd (moby) and run `docker context use rancher-desktop`, or put Rancher Desktop's nerdctl (~/.rd/bin) on PATH",
      )
    })

    it('OrbStack, whose Kubernetes has no other engine', async () => {
      const error = await rejection(
        new VmEngineLoader(desktop({engine: ENGINES.dockerDesktop}).toolkit, product('orbstack')).check(orbstack),
      )
      expect(error.message).to.equal(
        `OrbStack's Kubernetes sees only the images of OrbStack's Docker engine, and kudev builds with another (Docker engine "docker-desktop" (Docker Desktop))`,
      )
      expect(error.hint).to.equal('point docker at OrbStack: docker context use orbstack')
    })

    it('colima on the docker runtime, while docker reaches another engine', async () => {
      const {toolkit} = desktop({colimaRuntime: 'docker', engine: ENGINES.colima})
      const error = await rejection(new VmEngineLoader(toolkit, product('colima')).check(colimaDev))
      expect(error.message).to.equal(
        `colima profile "dev" runs Kubernetes on its Docker engine, and kudev builds with another (Docker engine "colima" (Ubuntu 24.04.1 LTS))`,
      )
      expect(error.hint).to.equal('point docker at it: docker context use colima-dev')
    })

    it('colima not running, or not installed', async () => {
      const stopped = await rejection(
        new VmEngineLoader(desktop({engine: ENGINES.orbstack}).toolkit, product('colima')).check(colimaDev),
      )
      expect(stopped.message).to.equal('colima profile "dev" is not running')
      expect(stopped.hint).to.equal('start it: colima start --profile dev --kubernetes')

      const toolkit = fakeToolkit((command) => {
        if (command[0] === 'colima') throw notFound('colima')
        return {stdout: `${ENGINES.orbstack}\n`}
      })
      const missing = await rejection(new VmEngineLoader(toolkit, product('colima')).check(colimaDefault))
      expect(missing.message).to.equal('colima is not installed (not found on PATH)')
    })
  })

  it('diagnose(): which engine, and how images reach the cluster', async () => {
    const shared = await new VmEngineLoader(
      desktop({engine: ENGINES.rancherDesktop}).toolkit,
      product('rancher-desktop'),
    ).diagnose(rancher)
    expect(shared).to.deep.equal([
      {
        name: 'engine',
        ok: true,
        summary: `Docker engine "lima-rancher-desktop" (Alpine Linux v3.20), Rancher Desktop's`,
      },
      {
        name: 'cluster',
        ok: true,
        summary: "Rancher Desktop's Kubernetes runs on that engine: images built there need no load",
      },
    ])
    const containerd = await new VmEngineLoader(
      desktop({colimaRuntime: 'containerd', engine: ENGINES.dockerDesktop}).toolkit,
      product('colima'),
    ).diagnose(colimaDev)
    expect(containerd.map((row) => row.summary)).to.deep.equal([
      `Docker engine "docker-desktop" (Docker Desktop), not colima's`,
      `colima's Kubernetes runs on containerd: images are loaded into its k8s.io namespace with colima nerdctl (profile "dev", containerd)`,
    ])
    const [, missing] = await new VmEngineLoader(
      desktop({cluster: null, engine: ENGINES.orbstack}).toolkit,
      product('rancher-desktop'),
    ).diagnose(rancher)
    expect(missing!.ok).to.equal(false)
    expect(missing!.hint).to.match(/^switch Rancher Desktop to Preferences → Container Engine → dockerd \(moby\)/)
  })
})
