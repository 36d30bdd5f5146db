import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {fakeToolkit, rejection} from 'kudev/testing'
import {Readable} from 'node:stream'

import {DockerDesktopLoader} from '../src/loader.js'

const ID = `sha256:${'c'.repeat(64)}`
const INDEX = `sha256:${'i'.repeat(64)}`
const target = {context: 'docker-desktop', params: {}}
const signal = new AbortController().signal

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: ID,
    inDockerDaemon: true,
    ref: 'app:1',
    save: () => Promise.resolve(Readable.from(['tar bytes'])),
    ...more,
  }
}

/**
 * Docker with Desktop's kind nodes (`nodes`, each mapped to the digest its docker.io/library/app:1 points
 * at) or none (kubeadm mode); `daemon` is the ID `docker image inspect app:1` answers.
 */
function desktop(
  options: {
    nodes?: Record<string, string | undefined>
    daemon?: string
    afterLoad?: string
  } = {},
) {
  const nodes = options.nodes ?? {}
  let daemon = options.daemon
  return fakeToolkit((command) => {
    const line = command.join(' ')
    if (line.startsWith('docker ps -a --filter label=io.x-k8s.kind.cluster=desktop ')) {
      return {
        stdout: Object.keys(nodes)
          .map((node) => `${node}\trunning\t${node.includes('worker') ? 'worker' : 'control-plane'}\n`)
          .join(''),
      }
    }

    if (line.startsWith('docker info'))
      return {stdout: 'linux\taarch64\t[["driver-type","io.containerd.snapshotter.v1"]]\n'}
    if (line === 'docker image inspect --format {{.Id}} app:1')
      return daemon === undefined
        ? {exitCode: 1, stderr: 'Error response from daemon: No such image: app:1\n'}
        : {stdout: `${daemon}\n`}
    if (line === 'docker load') {
      daemon = options.afterLoad
      return {stdout: 'Loaded image: app:1\n'}
    }

    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (ls) {
      const digest = nodes[ls[1]!]
      return {
        stdout: `REF TYPE DIGEST SIZE PLATFORMS LABELS\n${digest === undefined ? '' : `${ls[2]} application/vnd.oci.image.index.v1+json ${digest} 3.6 KiB linux/arm64 -\n`}`,
      }
    }

    if (/^docker exec \S+ ctr --namespace=k8s.io content get /.test(line))
      return {stdout: JSON.stringify({config: {digest: `sha256:${'f'.repeat(64)}`}})}
    return undefined
  })
}

describe('Docker Desktop loader (commands)', () => {
  describe('kubeadm mode (no desktop-control-plane)', () => {
    it('has() asks the Docker daemon, which is the node', async () => {
      expect(await new DockerDesktopLoader(desktop({daemon: ID})).has(image())).to.equal(true)
      expect(await new DockerDesktopLoader(desktop({daemon: `sha256:${'d'.repeat(64)}`})).has(image())).to.equal(false)
      expect(await new DockerDesktopLoader(desktop()).has(image())).to.equal(false)
    })

    it('loads nothing for an image in the Docker daemon, and says so at debug level', async () => {
      const toolkit = desktop({daemon: ID})
      await new DockerDesktopLoader(toolkit).load(image(), target, signal)
      expect(toolkit.commands.map((c) => c[1])).to.deep.equal(['ps'])
      expect(toolkit.logs.debug).to.include(
        "nothing to load: Docker Desktop's Kubernetes (kubeadm) runs on the Docker daemon, which has app:1",
      )
    })

    it('docker loads an image from another builder, then checks the daemon has its ID', async () => {
      const toolkit = desktop({afterLoad: ID})
      await new DockerDesktopLoader(toolkit).load(image({inDockerDaemon: false}), target, signal)
      expect(toolkit.commands.map((c) => c.join(' '))).to.include('docker load')
      const wrong = desktop({afterLoad: `sha256:${'d'.repeat(64)}`})
      const error = await rejection(new DockerDesktopLoader(wrong).load(image({inDockerDaemon: false}), target, signal))
      expect(error.message).to.equal(
        `docker load finished, but the Docker daemon has app:1 as sha256:${'d'.repeat(64)}, not ${ID}`,
      )
      const none = await rejection(
        new DockerDesktopLoader(desktop()).load(image({inDockerDaemon: false}), target, signal),
      )
      expect(none.message).to.equal(`docker load finished, but the Docker daemon has no app:1, not ${ID}`)
    })

    it('reports a Docker error that is not a missing image', async () => {
      const toolkit = fakeToolkit((command) =>
        command[1] === 'ps'
          ? {stdout: ''}
          : {exitCode: 1, stderr: 'permission denied while trying to connect to the Docker daemon socket\n'},
      )
      const error = await rejection(new DockerDesktopLoader(toolkit).has(image()))
      expect(error.code).to.equal('engine')
      expect(error.message).to.equal(
        'could not inspect app:1: permission denied while trying to connect to the Docker daemon socket',
      )
    })
  })

  describe('kind mode (desktop-control-plane exists)', () => {
    it('sends each node that lacks the image what it lacks, and reports it', async () => {
      const toolkit = desktop({nodes: {'desktop-control-plane': INDEX, 'desktop-worker': undefined}})
      const calls: unknown[] = []
      toolkit.loadIntoNodes = async (image, nodes, options) => {
        calls.push([image.ref, nodes, options.full])
        return []
      }

      const loader = new DockerDesktopLoader(toolkit)
      expect(await loader.load(image({id: INDEX}), target, signal)).to.deep.equal({
        method: 'trimmed per node',
        nodes: [],
      })
      expect(await loader.load(image({id: INDEX}), target, signal, {full: true})).to.deep.equal({
        method: 'whole image per node',
        nodes: [],
      })
      expect(calls).to.deep.equal([
        ['app:1', ['desktop-worker'], undefined],
        ['app:1', ['desktop-worker'], true],
      ])
    })

    it('refuses stopped nodes', async () => {
      const toolkit = fakeToolkit((command) =>
        command[1] === 'ps' ? {stdout: 'desktop-control-plane\texited\tcontrol-plane\n'} : undefined,
      )
      const error = await rejection(new DockerDesktopLoader(toolkit).has(image()))
      expect(error.message).to.equal(
        'Docker Desktop\'s Kubernetes is not running: node "desktop-control-plane" is exited',
      )
      expect(error.hint).to.equal('start it in Docker Desktop: Settings → Kubernetes')
    })
  })
})
