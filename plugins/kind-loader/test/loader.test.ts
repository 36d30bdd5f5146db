import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'

import {KindLoader} from '../src/loader.js'

const CONFIG = `sha256:${'c'.repeat(64)}`
const MANIFEST = `sha256:${'m'.repeat(64)}`
const INDEX = `sha256:${'i'.repeat(64)}`
const ARM_MANIFEST = `sha256:${'a'.repeat(64)}`
const target = {context: 'kind-dev', params: {cluster: 'dev'}}
const signal = new AbortController().signal
/** --full-load: the kind CLI, as kind users know it. */
const FULL = {full: true}
const CLASSIC_INFO = 'linux\tx86_64\t[["Backing Filesystem","extfs"],["Supports d_type","true"]]'
const CONTAINERD_INFO = 'linux\taarch64\t[["driver-type","io.containerd.snapshotter.v1"]]'

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: CONFIG,
    inDockerDaemon: true,
    ref: 'app:1',
    save: () => Promise.resolve(Readable.from(['tar bytes'])),
    ...more,
  }
}

/**
 * A kind cluster as docker shows it: `nodes` maps each node to the digest its `docker.io/library/app:1`
 * points at (undefined: absent); `loads` says what a kind load leaves there.
 */
function cluster(
  options: {
    info?: string
    nodes?: Record<string, string | undefined>
    loads?: string | undefined
    kind?: Answer
    index?: string
  } = {},
) {
  const nodes: Record<string, string | undefined> = options.nodes ?? {
    'dev-control-plane': undefined,
    'dev-worker': undefined,
  }
  const content: Record<string, unknown> = {
    [ARM_MANIFEST]: {config: {digest: CONFIG}},
    [INDEX]: {
      manifests: [
        {digest: `sha256:${'x'.repeat(64)}`, platform: {architecture: 'amd64', os: 'linux'}},
        {digest: ARM_MANIFEST, platform: {architecture: 'arm64', os: 'linux'}},
      ],
    },
    [MANIFEST]: {config: {digest: CONFIG}},
  }
  const toolkit = fakeToolkit((command) => {
    const line = command.join(' ')
    if (line.startsWith('docker ps -a --filter label=io.x-k8s.kind.cluster=dev ')) {
      const rows = Object.keys(nodes).map(
        (node) => `${node}\trunning\t${node.includes('worker') ? 'worker' : 'control-plane'}`,
      )
      return {stdout: [...rows, 'dev-external-load-balancer\trunning\texternal-load-balancer'].join('\n') + '\n'}
    }

    if (line.startsWith('docker ps -a --filter label=io.x-k8s.kind.cluster=')) return {stdout: ''}
    if (line.startsWith('docker info')) return {stdout: `${options.info ?? CLASSIC_INFO}\n`}
    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (ls) {
      const digest = nodes[ls[1]!]
      const header = 'REF TYPE DIGEST SIZE PLATFORMS LABELS'
      return {
        stdout:
          digest === undefined
            ? `${header}\n`
            : `${header}\n${ls[2]} application/vnd.oci.image.manifest.v1+json ${digest} 3.6 KiB linux/amd64 -\n`,
      }
    }

    const get = /^docker exec \S+ ctr --namespace=k8s.io content get (\S+)$/.exec(line)
    if (get) return {stdout: JSON.stringify(content[get[1]!])}
    if (command[0] === 'kind') {
      for (const node of Object.keys(nodes)) nodes[node] = options.loads
      return (
        options.kind ?? {stderr: 'Image: "app:1" with ID "sha256:…" not yet present on node "dev-worker", loading...\n'}
      )
    }

    if (command[0] === 'docker' && command[1] === 'save') return {}
    if (command[0] === 'tar') return {stdout: options.index ?? JSON.stringify({manifests: [{digest: ARM_MANIFEST}]})}
    return undefined
  })
  return {nodes, toolkit}
}

describe('kind loader (commands)', () => {
  it('by default sends only the nodes that lack the image, through toolkit.loadIntoNodes, and reports what each was sent', async () => {
    const {toolkit} = cluster({nodes: {'dev-control-plane': MANIFEST, 'dev-worker': undefined}})
    const calls: unknown[] = []
    const sent = {
      blobsSent: 3,
      blobsSkipped: 1,
      bytesSent: 4096,
      bytesSkipped: 1e8,
      durationMs: 5,
      mode: 'trimmed' as const,
    }
    toolkit.loadIntoNodes = async (image, nodes, options) => {
      calls.push([image.ref, nodes, options.full])
      return nodes.map((node) => ({...sent, node}))
    }

    const report = await new KindLoader(toolkit).load(image(), target, signal)
    expect(calls).to.deep.equal([['app:1', ['dev-worker'], undefined]])
    expect(report).to.deep.equal({method: 'trimmed per node', nodes: [{...sent, node: 'dev-worker'}]})
    expect(toolkit.commands.some((c) => c[0] === 'kind')).to.equal(false)
  })

  it('load() after has() of the same image asks the nodes once, not twice', async () => {
    const {toolkit} = cluster({nodes: {'dev-control-plane': MANIFEST, 'dev-worker': undefined}})
    const sent: string[][] = []
    toolkit.loadIntoNodes = async (_image, nodes) => {
      sent.push([...nodes])
      return []
    }

    const loader = new KindLoader(toolkit)
    expect(await loader.has(image(), target)).to.equal(false)
    await loader.load(image(), target, signal)
    const listings = toolkit.commands.filter((c) => c.includes('images') && c.includes('ls'))
    expect(listings).to.have.length(2) // one per node, by has()
    await loader.load(image({id: `sha256:${'d'.repeat(64)}`}), target, signal)
    expect(toolkit.commands.filter((c) => c.includes('images') && c.includes('ls'))).to.have.length(4)
    expect(sent).to.deep.equal([['dev-worker'], ['dev-control-plane', 'dev-worker']])
  })

  it('has() is true only when the name points at the image ID on every control-plane and worker node', async () => {
    const some = cluster({nodes: {'dev-control-plane': MANIFEST, 'dev-worker': undefined}})
    expect(await new KindLoader(some.toolkit).has(image(), target)).to.equal(false)
    const all = cluster({nodes: {'dev-control-plane': MANIFEST, 'dev-worker': MANIFEST}})
    expect(await new KindLoader(all.toolkit).has(image(), target)).to.equal(true)
    expect(all.toolkit.commands.map((c) => c.join(' '))).to.include.members([
      'docker exec dev-control-plane ctr --namespace=k8s.io images ls name==docker.io/library/app:1',
      `docker exec dev-worker ctr --namespace=k8s.io content get ${MANIFEST}`,
    ])
    expect(all.toolkit.commands.flat().join(' ')).to.not.include('external-load-balancer ctr')
  })

  it("has() reads an index for the nodes' platform, and accepts the digest the name points at as the ID", async () => {
    const indexed = cluster({info: CONTAINERD_INFO, nodes: {'dev-control-plane': INDEX}})
    expect(await new KindLoader(indexed.toolkit).has(image(), target)).to.equal(true)
    expect(indexed.toolkit.commands.map((c) => c.join(' '))).to.include(
      `docker exec dev-control-plane ctr --namespace=k8s.io content get ${ARM_MANIFEST}`,
    )
    const byIndex = cluster({nodes: {'dev-control-plane': INDEX}})
    expect(await new KindLoader(byIndex.toolkit).has(image({id: INDEX}), target)).to.equal(true)
    const otherPlatform = cluster({info: 'linux\ts390x\tnull', nodes: {'dev-control-plane': INDEX}})
    expect(await new KindLoader(otherPlatform.toolkit).has(image(), target)).to.equal(false)
  })

  it('loads from the Docker daemon with kind load docker-image, then checks every node', async () => {
    const {toolkit} = cluster({loads: MANIFEST})
    await new KindLoader(toolkit).load(image(), target, signal, FULL)
    const lines = toolkit.commands.map((c) => c.join(' '))
    expect(lines).to.include('kind load docker-image app:1 --name dev -v 1')
    expect(lines.filter((l) => l.startsWith('docker exec') && l.includes('images ls'))).to.have.length(2)
    expect(toolkit.logs.debug).to.include(
      'kind: Image: "app:1" with ID "sha256:…" not yet present on node "dev-worker", loading...',
    )
  })

  it("with Docker's containerd image store, saves the nodes' platform and loads the archive (kind#3795), accepting what the archive names", async () => {
    const {toolkit} = cluster({info: CONTAINERD_INFO, loads: ARM_MANIFEST})
    await new KindLoader(toolkit).load(image({id: INDEX}), target, signal, FULL)
    const save = toolkit.commands.find((c) => c[1] === 'save')!
    const archive = save.at(-2)!
    expect(save).to.deep.equal(['docker', 'save', '--platform', 'linux/arm64', '-o', archive, 'app:1'])
    expect(path.basename(archive)).to.equal('image.tar')
    expect(toolkit.commands).to.deep.include(['tar', '-xOf', archive, 'index.json'])
    expect(toolkit.commands).to.deep.include(['kind', 'load', 'image-archive', archive, '--name', 'dev', '-v', '1'])
    expect(existsSync(path.dirname(archive)), 'temporary folder removed').to.equal(false)
  })

  it('takes an image that is not in the Docker daemon from its builder and loads the archive', async () => {
    const {toolkit} = cluster({loads: MANIFEST})
    let saved = 0
    await new KindLoader(toolkit).load(
      image({
        inDockerDaemon: false,
        save: async () => {
          saved++
          return Readable.from(['podman save output'])
        },
      }),
      target,
      signal,
      FULL,
    )
    expect(saved).to.equal(1)
    const kind = toolkit.commands.find((c) => c[0] === 'kind')!
    expect(kind.slice(0, 3)).to.deep.equal(['kind', 'load', 'image-archive'])
    expect(toolkit.commands.some((c) => c[0] === 'docker' && (c[1] === 'save' || c[1] === 'info'))).to.equal(false)
    expect(existsSync(path.dirname(kind[3]!))).to.equal(false)
  })

  it('an abort while the builder saves the image ends as interrupted, leaving no archive', async () => {
    const {toolkit} = cluster()
    const controller = new AbortController()
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(1024))
      },
    })
    setTimeout(() => controller.abort(), 50)
    const error = await rejection(
      new KindLoader(toolkit).load(
        image({inDockerDaemon: false, save: async () => endless}),
        target,
        controller.signal,
        FULL,
      ),
    )
    expect(error.code).to.equal('interrupted')
    expect(error.message).to.equal('interrupted while saving app:1')
    expect(endless.destroyed).to.equal(true)
    expect(toolkit.commands.some((c) => c[0] === 'kind')).to.equal(false)
  })

  it("passes on a builder's failure to save", async () => {
    const {toolkit} = cluster()
    const failing = new Readable({
      read() {
        this.destroy(new Error('podman save failed'))
      },
    })
    const error = await rejection(
      new KindLoader(toolkit).load(image({inDockerDaemon: false, save: async () => failing}), target, signal, FULL),
    )
    expect(error.message).to.equal('podman save failed')
  })

  it('fails, naming the nodes, when a node does not have the image after kind load', async () => {
    const {nodes, toolkit} = cluster({loads: MANIFEST})
    toolkit.exec = ((exec) => async (file, args, options) => {
      const result = await exec(file, args, options)
      if (file === 'kind') nodes['dev-worker'] = undefined
      return result
    })(toolkit.exec)
    const error = await rejection(new KindLoader(toolkit).load(image(), target, signal, FULL))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(
      `kind load docker-image app:1 --name dev -v 1 exited 0, but node "dev-worker" of cluster "dev" does not have app:1 (${CONFIG})`,
    )
    expect(error.hint).to.include('docker exec dev-worker ctr --namespace=k8s.io images ls')
  })

  it('explains a cluster without nodes, before running kind', async () => {
    const {toolkit} = cluster()
    const error = await rejection(
      new KindLoader(toolkit).load(image(), {context: 'kind-gone', params: {cluster: 'gone'}}, signal, FULL),
    )
    expect(error.code).to.equal('load')
    expect(error.message).to.equal('no kind nodes found for cluster "gone" (context kind-gone)')
    expect(error.hint).to.include('kind get clusters')
    // Only asked whether kind is there, for the hint.
    expect(toolkit.commands.filter((c) => c[0] === 'kind')).to.deep.equal([['kind', 'version']])
  })

  it('asks for a kind context when the target names no cluster', async () => {
    const error = await rejection(new KindLoader(cluster().toolkit).has(image(), {context: 'dev', params: {}}))
    expect(error.code).to.equal('kube')
    expect(error.message).to.equal('cannot tell which kind cluster kube context "dev" belongs to')
  })

  it('refuses stopped nodes, saying how to start them', async () => {
    const toolkit = fakeToolkit((command) =>
      command[1] === 'ps' ? {stdout: 'dev-control-plane\texited\tcontrol-plane\n'} : undefined,
    )
    const error = await rejection(new KindLoader(toolkit).has(image(), target))
    expect(error.message).to.equal('kind cluster "dev" is not running: node "dev-control-plane" is exited')
    expect(error.hint).to.equal('start it: docker start dev-control-plane')
    const two = fakeToolkit((command) =>
      command[1] === 'ps'
        ? {stdout: 'dev-control-plane\texited\tcontrol-plane\ndev-worker\tpaused\tworker\n'}
        : undefined,
    )
    const both = await rejection(new KindLoader(two).has(image(), target))
    expect(both.message).to.equal(
      'kind cluster "dev" is not running: node "dev-control-plane" is exited, node "dev-worker" is paused',
    )
    expect(both.hint).to.equal('start them: docker start dev-control-plane dev-worker')
  })

  it('says when Docker does not answer', async () => {
    const toolkit = fakeToolkit(() => ({
      exitCode: 1,
      stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
    }))
    const error = await rejection(new KindLoader(toolkit).has(image(), target))
    expect(error.code).to.equal('engine')
    expect(error.message).to.equal(
      'could not list the nodes of kind cluster "dev": Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    )
  })

  const failures: [string, string, string, string][] = [
    [
      'no nodes (the cluster went away meanwhile)',
      'ERROR: no nodes found for cluster "dev"',
      'no kind nodes found for cluster "dev" (context kind-dev)',
      'kind get clusters',
    ],
    [
      'content digest not found (kind#3795)',
      'ERROR: failed to load image: command "docker exec --privileged -i dev-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\nCommand Output: ctr: content digest sha256:abc: not found',
      'kind load docker-image app:1 --name dev -v 1 failed: failed to load image: command "docker exec --privileged -i dev-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1',
      'kind/issues/3795',
    ],
    [
      'a wrong-platform image',
      '\u001B[31mERROR\u001B[0m: failed to load image: …\nCommand Output: ctr: image might be filtered out',
      'kind load docker-image app:1 --name dev -v 1 failed: failed to load image: …',
      'another platform',
    ],
    [
      'an old kind CLI',
      'ERROR: failed to detect containerd snapshotter',
      'kind load docker-image app:1 --name dev -v 1 failed: failed to detect containerd snapshotter',
      'kind#3871',
    ],
    [
      'anything else',
      'ERROR: something new',
      'kind load docker-image app:1 --name dev -v 1 failed: something new',
      'rerun with -v',
    ],
  ]
  for (const [what, stderr, message, hint] of failures) {
    it(`explains kind's failure: ${what}`, async () => {
      const {toolkit} = cluster({kind: {exitCode: 1, stderr}})
      const error = await rejection(new KindLoader(toolkit).load(image(), target, signal, FULL))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(message)
      expect(error.hint).to.include(hint)
    })
  }
})
