/**
 * toolkit.loadIntoNodes' decisions and messages, on a fake docker (test/integration/node-load.test.ts runs
 * it against real containerd nodes): when a node is sent the whole image and why, what a failure says, and
 * that a name the failed load moved is removed.
 */
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import {Readable} from 'node:stream'

import type {LoadableImage} from '../../../src/plugins/contract.js'
import {type Answer, fakeToolkit, rejection} from '../../../src/testing/index.js'
import {parseSnapshotter} from '../../../src/toolkit/node-load.js'

const ID = `sha256:${'c'.repeat(64)}`
const BROKEN = `sha256:${'b'.repeat(64)}`
const signal = new AbortController().signal
const image: LoadableImage = {
  id: ID,
  inDockerDaemon: true,
  ref: 'app:1',
  save: () => Promise.resolve(Readable.from([])),
}

/**
 * A node `n1` whose docker.io/library/app:1 points at `names[0]` before the import and `names[1]` after
 * it; `unpacked` is what `images check` says of it (absent: not listed); the saved archive is not an image archive.
 */
function node(options: {
  importAnswer: Answer
  names: [string | undefined, string | undefined]
  unpacked?: boolean
  info?: string
}) {
  let imported = false
  return fakeToolkit((command) => {
    const line = command.join(' ')
    if (line.startsWith('docker info')) return {stdout: options.info ?? 'linux\tx86_64\tnull\n'}
    if (line.startsWith('docker save ')) {
      writeFileSync(command.at(-2)!, 'not a tar')
      return {}
    }

    if (line === 'docker exec n1 containerd config dump') return {stdout: 'version = 2\n'}
    if (line === 'docker exec n1 ctr --namespace=k8s.io content ls -q') return {stdout: `${ID}\n`}
    if (line.startsWith('docker exec -i n1 ctr --namespace=k8s.io images import ')) {
      imported = true
      return options.importAnswer
    }

    if (line === 'docker exec n1 ctr --namespace=k8s.io images ls name==docker.io/library/app:1') {
      const target = options.names[imported ? 1 : 0]
      const row = target === undefined ? '' : `docker.io/library/app:1 application/x ${target} 1 KiB linux/amd64 -\n`
      return {stdout: `REF TYPE DIGEST SIZE PLATFORMS LABELS\n${row}`}
    }

    if (line.startsWith('docker exec n1 ctr --namespace=k8s.io images check ')) {
      const header = 'REF TYPE DIGEST STATUS SIZE UNPACKED\n'
      if (options.unpacked === undefined) return {stdout: header}
      const row = `docker.io/library/app:1 application/x ${ID} complete (2/2) 3.2 KiB/3.2 KiB ${options.unpacked}\n`
      return {stdout: header + row}
    }
    if (line.startsWith('docker exec n1 ctr --namespace=k8s.io content get ')) return {stdout: '{"config":{}}'}
    if (line === 'docker exec n1 ctr --namespace=k8s.io images rm docker.io/library/app:1') return {}
    return undefined
  })
}

describe('toolkit.loadIntoNodes (commands)', () => {
  it('saves nothing when no node lacks the image', async () => {
    const toolkit = fakeToolkit()
    expect(await toolkit.loadIntoNodes(image, [], {signal})).to.deep.equal([])
    expect(toolkit.commands).to.deep.equal([])
  })

  it('sends the saved file whole when kudev cannot read it as an image archive, with every platform and no snapshotter the config does not name', async () => {
    const toolkit = node({importAnswer: {}, names: [undefined, ID], unpacked: true})
    const [load] = await toolkit.loadIntoNodes(image, ['n1'], {signal})
    expect(load).to.include({mode: 'full', node: 'n1', bytesSent: 'not a tar'.length})
    expect(load!.reason).to.match(/^kudev could not read the saved image \(.* is not a tar archive/)
    expect(toolkit.commands).to.deep.include([
      ...['docker', 'exec', '-i', 'n1', 'ctr', '--namespace=k8s.io', 'images', 'import'],
      ...['--all-platforms', '--digests', '-'],
    ])
    const lines = toolkit.commands.map((command) => command.join(' '))
    // The save starts before the node is asked anything: Docker works on it for seconds before its first byte.
    expect(lines.findIndex((line) => line.startsWith('docker save '))).to.be.lessThan(
      lines.findIndex((line) => line.startsWith('docker exec n1 ')),
    )
    // After the import, one question: ctr images check names the digest and says complete and unpacked.
    const afterImport = lines.slice(lines.findIndex((line) => line.includes(' images import ')) + 1)
    expect(afterImport).to.deep.equal([
      'docker exec n1 ctr --namespace=k8s.io images check name==docker.io/library/app:1',
    ])
  })

  it("fails naming the node and ctr's reason, and removes the name the failed import left pointing at a broken image", async () => {
    const toolkit = node({importAnswer: {exitCode: 1, stderr: 'ctr: failed to unpack\n'}, names: [undefined, BROKEN]})
    const error = await rejection(toolkit.loadIntoNodes(image, ['n1'], {signal}))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal('could not load app:1 into node "n1": ctr: failed to unpack')
    expect(error.hint).to.equal(
      'the node must list it, complete and unpacked: docker exec n1 ctr --namespace=k8s.io images check name==docker.io/library/app:1',
    )
    expect(toolkit.commands.map((c) => c.join(' '))).to.include(
      'docker exec n1 ctr --namespace=k8s.io images rm docker.io/library/app:1',
    )
  })

  it('leaves a name alone that points where it did before the load', async () => {
    const toolkit = node({
      importAnswer: {exitCode: 1, stderr: 'ctr: no space left on device\n'},
      names: [BROKEN, BROKEN],
    })
    const error = await rejection(toolkit.loadIntoNodes(image, ['n1'], {signal}))
    expect(error.message).to.equal('could not load app:1 into node "n1": ctr: no space left on device')
    expect(toolkit.commands.some((c) => c.includes('rm'))).to.equal(false)
  })

  it('takes an image whose content is all there but not unpacked for the snapshotter as not loaded', async () => {
    const toolkit = node({importAnswer: {}, names: [undefined, ID], unpacked: false})
    const error = await rejection(toolkit.loadIntoNodes(image, ['n1'], {signal}))
    expect(error.message).to.equal(
      'could not load app:1 into node "n1": ctr exited 0, but the node\'s app:1 is not complete and unpacked',
    )
  })

  it('says ctr exited 0 but the node does not list the image, when that is so', async () => {
    const toolkit = node({importAnswer: {}, names: [undefined, undefined]})
    const error = await rejection(toolkit.loadIntoNodes(image, ['n1'], {signal}))
    expect(error.message).to.equal(
      `could not load app:1 into node "n1": ctr exited 0, but the node does not list app:1 as ${ID}`,
    )
  })

  it('gives a platform hint when ctr filtered the image out; saves every platform from the classic image store', async () => {
    const toolkit = node({
      importAnswer: {exitCode: 1, stderr: 'ctr: image might be filtered out\n'},
      names: [undefined, undefined],
    })
    const error = await rejection(toolkit.loadIntoNodes(image, ['n1'], {signal}))
    expect(error.hint).to.equal(
      "the image is not built for the nodes' platform: build it for theirs (linux/amd64 is the Docker engine's)",
    )
    const imported = toolkit.commands.find((c) => c.includes('import'))!
    expect(imported.slice(8)).to.deep.equal(['--all-platforms', '--digests', '-'])
    // Docker's classic image store: the save is for every platform (older engines refuse --platform).
    expect(toolkit.commands.find((c) => c[1] === 'save')).to.not.include('--platform')
  })

  it("saves only the engine's platform from Docker's containerd image store (kind#3795)", async () => {
    const containerd = 'linux\taarch64\t[["driver-type","io.containerd.snapshotter.v1"]]\n'
    const toolkit = node({importAnswer: {}, info: containerd, names: [undefined, ID], unpacked: true})
    await toolkit.loadIntoNodes(image, ['n1'], {signal})
    expect(toolkit.commands.find((c) => c[1] === 'save')!.slice(0, 4)).to.deep.equal([
      'docker',
      'save',
      '--platform',
      'linux/arm64',
    ])
  })
})

describe('parseSnapshotter', () => {
  it('reads the CRI snapshotter from containerd 1.x and 2.x configurations', () => {
    expect(
      parseSnapshotter(
        'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri".containerd]\n    default_runtime_name = "runc"\n    snapshotter = "overlayfs"\n  [plugins."io.containerd.grpc.v1.cri".containerd.default_runtime]\n    snapshotter = ""\n',
      ),
    ).to.equal('overlayfs')
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
