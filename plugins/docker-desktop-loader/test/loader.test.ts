import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'

import {DockerDesktopLoader, parseSnapshotter} from '../src/loader.js'

const ID = `sha256:${'c'.repeat(64)}`
const INDEX = `sha256:${'i'.repeat(64)}`
const target = {context: 'docker-desktop', params: {}}
const signal = new AbortController().signal
const CONFIG_V2 =
  'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri".containerd]\n    default_runtime_name = "runc"\n    snapshotter = "overlayfs"\n'

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
    loads?: string
    importAnswer?: Answer
    afterLoad?: string
    config?: Answer
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

    if (line.startsWith('docker save -o ')) {
      writeFileSync(command[3]!, 'docker save output')
      return {}
    }
    if (/^docker exec \S+ containerd config dump$/.test(line)) return options.config ?? {stdout: CONFIG_V2}
    const imported = /^docker exec -i (\S+) ctr --namespace=k8s.io images import /.exec(line)
    if (imported) {
      nodes[imported[1]!] = options.loads
      return options.importAnswer ?? {stdout: 'unpacking docker.io/library/app:1 (sha256:…)...done\n'}
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
    const nodes = () => ({'desktop-control-plane': undefined, 'desktop-worker': undefined})

    it('saves once and imports into every node for their platform, with their snapshotter, then checks them', async () => {
      const toolkit = desktop({loads: INDEX, nodes: nodes()})
      await new DockerDesktopLoader(toolkit).load(image({id: INDEX}), target, signal)
      const save = toolkit.commands.find((c) => c[1] === 'save')!
      expect(save).to.deep.equal(['docker', 'save', '-o', save[3], 'app:1'])
      for (const node of ['desktop-control-plane', 'desktop-worker']) {
        expect(toolkit.commands).to.deep.include([
          'docker',
          'exec',
          '-i',
          node,
          'ctr',
          '--namespace=k8s.io',
          'images',
          'import',
          '--platform',
          'linux/arm64',
          '--digests',
          '--snapshotter=overlayfs',
          '-',
        ])
      }

      expect(toolkit.commands.filter((c) => c[1] === 'save')).to.have.length(1)
      expect(existsSync(path.dirname(save[3]!)), 'temporary folder removed').to.equal(false)
      expect(await new DockerDesktopLoader(toolkit).has(image({id: INDEX}))).to.equal(true)
    })

    it('takes an image that is not in the Docker daemon from its builder', async () => {
      const toolkit = desktop({loads: INDEX, nodes: {'desktop-control-plane': undefined}})
      let saved = 0
      await new DockerDesktopLoader(toolkit).load(
        image({
          id: INDEX,
          inDockerDaemon: false,
          save: async () => {
            saved++
            return Readable.from(['podman save output'])
          },
        }),
        target,
        signal,
      )
      expect(saved).to.equal(1)
      expect(toolkit.commands.some((c) => c[1] === 'save')).to.equal(false)
    })

    it("passes no snapshotter when the node's configuration names none (containerd's default for both)", async () => {
      const toolkit = desktop({
        config: {stdout: 'version = 2\n'},
        loads: INDEX,
        nodes: {'desktop-control-plane': undefined},
      })
      await new DockerDesktopLoader(toolkit).load(image({id: INDEX}), target, signal)
      const imported = toolkit.commands.find((c) => c.includes('import'))!
      expect(imported.some((arg) => arg.startsWith('--snapshotter'))).to.equal(false)
    })

    it('explains an import that failed, with a platform hint when ctr filtered the image out', async () => {
      const importAnswer = {exitCode: 1, stderr: 'ctr: image might be filtered out\n'}
      const error = await rejection(
        new DockerDesktopLoader(desktop({importAnswer, nodes: nodes()})).load(image(), target, signal),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        'could not import app:1 into node "desktop-control-plane": ctr: image might be filtered out',
      )
      expect(error.hint).to.equal("the image is not built for the nodes' platform: build it for linux/arm64")
      const other = await rejection(
        new DockerDesktopLoader(desktop({importAnswer: {exitCode: 1, stderr: 'ctr: broken\n'}, nodes: nodes()})).load(
          image(),
          target,
          signal,
        ),
      )
      expect(other.hint).to.match(
        /^the line above is ctr's reason; the command was: docker exec -i desktop-control-plane ctr/,
      )
    })

    it('fails, naming the node, when a node does not have the image afterwards', async () => {
      const error = await rejection(
        new DockerDesktopLoader(desktop({loads: `sha256:${'e'.repeat(64)}`, nodes: nodes()})).load(
          image({id: INDEX}),
          target,
          signal,
        ),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `imported app:1, but nodes "desktop-control-plane", "desktop-worker" of Docker Desktop's cluster do not have it as ${INDEX}`,
      )
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

  it('reads the CRI snapshotter from containerd 1.x and 2.x configurations', () => {
    expect(parseSnapshotter(CONFIG_V2)).to.equal('overlayfs')
    expect(
      parseSnapshotter(
        'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "native"\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "zfs"\n',
      ),
    ).to.equal('native')
    expect(
      parseSnapshotter('version = 2\n[plugins."io.containerd.snapshotter.v1.native"]\n  snapshotter = "x"\n'),
    ).to.equal(undefined)
  })
})
