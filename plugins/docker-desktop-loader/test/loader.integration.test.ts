/**
 * The Docker Desktop loader against the real engine: kubeadm mode (no desktop nodes: the engine is the
 * node) and kind mode with a `desktop-control-plane` node container running a real containerd.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import type {LoadableImage} from 'kudev'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'

import {docker, dockerResult, requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {
  createDockerDesktopKindNode,
  ensureNodeImage,
  hostImageId,
  nodeImageIds,
  removeAll,
  type TestCluster,
} from '../../../test/support/nodes.js'
import {DockerDesktopLoader} from '../src/loader.js'
import {processes, waitFor} from '../../../test/support/processes.js'
import {buildUniqueImage} from '../../../test/support/images.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`
const target = {context: 'docker-desktop', params: {}}

describe('Docker Desktop loader (integration: real engine, containerd node)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let tmp: string
  let toolkit: TestToolkit

  const buildImage = (name: string, padding = 0) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), padding, ref: `kudev-test/desktop-loader-${name}:${suffix}`})

  /** The image as another builder would hand it over: only through save(). */
  async function fromBuilder(image: LoadableImage): Promise<LoadableImage> {
    const tar = await execa('docker', ['save', image.ref], {encoding: 'buffer'})
    return {...image, inDockerDaemon: false, save: async () => Readable.from([tar.stdout])}
  }

  const desktopNodeExists = async () => !(await dockerResult(['container', 'inspect', 'desktop-control-plane'])).failed

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-desktop-loader-test-')
    toolkit = realToolkit()
  })

  after(async function () {
    this.timeout(120_000)
    await removeAll()
  })

  describe('kubeadm mode', () => {
    before(async function () {
      // Another process's desktop node would turn this engine into a kind-mode Docker Desktop.
      if (await desktopNodeExists()) this.skip()
    })

    it('has an image the Docker daemon has, and loading it does nothing but say so', async () => {
      const image = await buildImage('kubeadm')
      const loader = new DockerDesktopLoader(toolkit)
      expect(await loader.has(image)).to.equal(true)
      await loader.load(image, target, new AbortController().signal)
      expect(toolkit.logs.debug).to.include(
        `nothing to load: Docker Desktop's Kubernetes (kubeadm) runs on the Docker daemon, which has ${image.ref}`,
      )
    })

    it('diagnose: kubeadm mode on the Docker daemon, with its platform', async () => {
      const platform = (await execa('docker', ['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'])).stdout
      expect(await new DockerDesktopLoader(toolkit).diagnose()).to.deep.equal([
        {
          name: 'cluster',
          ok: true,
          summary: `Docker Desktop's Kubernetes (kubeadm) on the Docker daemon (${platform}): images built there need no load`,
        },
      ])
    })

    it('docker loads an image that only its builder has', async () => {
      const image = await fromBuilder(await buildImage('kubeadm-podman'))
      await docker(['image', 'rm', image.ref])
      const loader = new DockerDesktopLoader(toolkit)
      expect(await loader.has(image)).to.equal(false)
      await loader.load(image, target, new AbortController().signal)
      expect(await hostImageId(image.ref)).to.equal(image.id)
      expect(await loader.has(image)).to.equal(true)
    })
  })

  describe('kind mode (desktop-control-plane)', () => {
    let cluster: TestCluster | undefined
    const leftovers = async () => (await readdir(tmpdir())).filter((entry) => entry.startsWith('kudev-load-'))

    before(async function () {
      if (await desktopNodeExists()) this.skip()
      cluster = await createDockerDesktopKindNode()
    })

    after(() => cluster?.remove())

    it('imports into the node, which the Docker daemon having the image does not make it have', async () => {
      const image = await buildImage('kind-mode')
      const loader = new DockerDesktopLoader(toolkit)
      const before = await leftovers()
      expect(await loader.has(image)).to.equal(false)
      await loader.load(image, target, new AbortController().signal)
      expect(await nodeImageIds('desktop-control-plane')).to.include(image.id)
      expect(await loader.has(image)).to.equal(true)
      expect(await leftovers()).to.deep.equal(before)
    })

    it('diagnose: kind mode, its nodes running; a stopped node fails the row', async () => {
      const loader = new DockerDesktopLoader(toolkit)
      expect(await loader.diagnose()).to.deep.equal([
        {
          name: 'cluster',
          ok: true,
          summary: 'Docker Desktop\'s Kubernetes (kind): node "desktop-control-plane" running',
        },
      ])
      await execa('docker', ['stop', '--time', '1', 'desktop-control-plane'])
      try {
        const [stopped] = await loader.diagnose()
        expect(stopped).to.include({
          name: 'cluster',
          ok: false,
          hint: 'start it in Docker Desktop: Settings → Kubernetes',
        })
        expect(stopped!.summary).to.match(
          /^Docker Desktop's Kubernetes is not running: node "desktop-control-plane" is exited/,
        )
      } finally {
        await execa('docker', ['start', 'desktop-control-plane'])
      }
    })

    it('imports an image that only its builder has', async () => {
      const image = await fromBuilder(await buildImage('kind-mode-podman'))
      await new DockerDesktopLoader(toolkit).load(image, target, new AbortController().signal)
      expect(await nodeImageIds('desktop-control-plane')).to.include(image.id)
    })

    it('an abort during the import stops it, leaving no docker process behind', async () => {
      const image = await buildImage('aborted', 48 * 1024 * 1024)
      const controller = new AbortController()
      const loading = new DockerDesktopLoader(toolkit).load(image, target, controller.signal)
      await waitFor(async () => (await processes('docker (save -o .*|exec -i desktop-control-plane)')).length > 0)
      controller.abort()
      const error = await rejection(loading)
      expect(error.code).to.equal('interrupted')
      expect(await processes(`docker (save -o .*${image.ref}|exec -i desktop-control-plane)`)).to.deep.equal([])
      expect(await nodeImageIds('desktop-control-plane')).to.not.include(image.id)
    })
  })
})
