/**
 * toolkit.loadIntoNodes' decisions and messages, on a fake docker (test/integration/node-load.test.ts runs
 * it against real containerd nodes): when a node is sent the whole image and why, what a failure says, and
 * that a name the failed load moved is removed.
 */
import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import type {LoadableImage} from '../../../src/plugins/contract.js'
import {type Answer, fakeToolkit, rejection} from '../../../src/testing/index.js'
import {layerNames} from '../../../src/toolkit/layer-names.js'
import {parseSnapshotter} from '../../../src/toolkit/node-load.js'
import {END_OF_ARCHIVE, padding, readTarIndex, tarHeader} from '../../../src/util/tar.js'

const ID = `sha256:${'c'.repeat(64)}`
const BROKEN = `sha256:${'b'.repeat(64)}`
const signal = new AbortController().signal
const image: LoadableImage = {
  id: ID,
  inDockerDaemon: true,
  ref: 'app:1',
  save: () => Promise.resolve(Readable.from([])),
}

/** A tar that holds no image: one file. */
const NOT_AN_IMAGE = Buffer.concat([
  ...tarHeader({mode: 0o644, mtimeSeconds: 0, name: 'hello.txt', size: 3, type: 'file'}),
  Buffer.from('hi\n'),
  padding(3),
  END_OF_ARCHIVE,
]).toString('latin1')

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
    if (line.startsWith('docker save ')) return {stdout: NOT_AN_IMAGE}

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
    expect(load).to.include({mode: 'full', node: 'n1', bytesSent: NOT_AN_IMAGE.length})
    expect(load!.reason).to.match(
      /^kudev could not read the saved image \(.* holds neither index.json nor manifest.json/,
    )
    expect(toolkit.commands).to.deep.include([
      ...['docker', 'exec', '-i', 'n1', 'ctr', '--namespace=k8s.io', 'images', 'import'],
      ...['--all-platforms', '--digests', '-'],
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

describe('toolkit.loadIntoNodes (layers left out of the save)', () => {
  const hex = (char: string) => char.repeat(64)
  const sha = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`
  const deps = Buffer.alloc(1_500_000, 'd')
  const app = Buffer.from('app v2\n')
  const config = JSON.stringify({rootfs: {diff_ids: [sha(deps), sha(app)], type: 'layers'}})
  const file = (name: string, content: Buffer | string) => {
    const bytes = Buffer.from(content)
    return [
      ...tarHeader({mode: 0o644, mtimeSeconds: 0, name, size: bytes.length, type: 'file'}),
      bytes,
      padding(bytes.length),
    ]
  }
  // Docker 20.10's form: layer files under v1 IDs, the config, manifest.json last.
  const saved = Buffer.concat([
    ...file(`${hex('1')}/layer.tar`, deps),
    ...file(`${hex('2')}/layer.tar`, app),
    ...file(`${hex('3')}.json`, config),
    ...file(
      'manifest.json',
      JSON.stringify([
        {Config: `${hex('3')}.json`, Layers: [`${hex('1')}/layer.tar`, `${hex('2')}/layer.tar`], RepoTags: ['app:1']},
      ]),
    ),
    END_OF_ARCHIVE,
  ]).toString('latin1')
  const appImage: LoadableImage = {...image, id: sha(config)}
  let cache: string
  let before: string | undefined
  beforeEach(async () => {
    before = process.env.KUDEV_CACHE_DIR
    cache = await mkdtemp(join(tmpdir(), 'kudev-node-load-'))
    process.env.KUDEV_CACHE_DIR = cache
  })
  afterEach(async () => {
    if (before === undefined) delete process.env.KUDEV_CACHE_DIR
    else process.env.KUDEV_CACHE_DIR = before
    await rm(cache, {force: true, recursive: true})
  })

  /** Node n1 holding `held`; what each import was sent. */
  function holding(held: string[]) {
    const imports: Buffer[] = []
    const toolkit = fakeToolkit(async (command, options) => {
      const line = command.join(' ')
      if (line.startsWith('docker info')) return {stdout: 'linux\tx86_64\tnull\n'}
      if (line.startsWith('docker save ')) return {stdout: saved}
      if (line === 'docker exec n1 containerd config dump') return {stdout: 'version = 2\n'}
      if (line === 'docker exec n1 ctr --namespace=k8s.io content ls -q') return {stdout: `${held.join('\n')}\n`}
      if (line.startsWith('docker exec n1 ctr --namespace=k8s.io images ls ')) return {stdout: 'REF TYPE DIGEST\n'}
      if (line.startsWith('docker exec -i n1 ctr --namespace=k8s.io images import ')) {
        const chunks: Buffer[] = []
        for await (const chunk of options.input as Readable) chunks.push(chunk as Buffer)
        imports.push(Buffer.concat(chunks))
        return {}
      }

      if (line.startsWith('docker exec n1 ctr --namespace=k8s.io images check '))
        return {
          stdout: `REF TYPE DIGEST STATUS SIZE UNPACKED\ndocker.io/library/app:1 x ${appImage.id} complete (3/3) 1 KiB/1 KiB true\n`,
        }
      return undefined
    })
    return {imports, toolkit}
  }

  const saves = (toolkit: ReturnType<typeof fakeToolkit>) => toolkit.commands.filter((c) => c[1] === 'save').length

  it('leaves out the layer every node holds, known by the name an earlier save gave it, and learns the names of this one', async () => {
    const first = holding([sha(deps)])
    await first.toolkit.loadIntoNodes(appImage, ['n1'], {signal})
    // Nothing known yet: the layer was written, then its name learned from manifest.json.
    expect(first.toolkit.logs.debug.some((line) => line.startsWith('left out'))).to.equal(false)
    expect(layerNames().digestOf(`${hex('1')}/layer.tar`)).to.equal(sha(deps))

    const second = holding([sha(deps)])
    const [load] = await second.toolkit.loadIntoNodes(appImage, ['n1'], {signal})
    expect(second.toolkit.logs.debug).to.include('left out of the saved file: 1 layer every node holds')
    expect(load).to.include({blobsSkipped: 1, bytesSkipped: deps.length, mode: 'trimmed'})
    expect(saves(second.toolkit)).to.equal(1)
    expect(second.imports[0]!.length).to.be.lessThan(10_000)
  })

  it('a name that held another layer than kudev expected: the node gets the whole image from a second save', async () => {
    // kudev's cache says the first layer file holds a layer the node has; manifest.json says otherwise.
    const wrong = `sha256:${hex('9')}`
    layerNames().learn(new Map([[`${hex('1')}/layer.tar`, wrong]]))
    const {imports, toolkit} = holding([wrong, sha(app)])
    const [load] = await toolkit.loadIntoNodes(appImage, ['n1'], {signal})
    expect(load).to.include({
      mode: 'full',
      reason: 'it lacks a layer kudev left out of the save, expecting every node to hold it',
    })
    expect(saves(toolkit)).to.equal(2)
    // The whole image as a layout: the second save gave the layer the first left out.
    expect(imports).to.have.length(1)
    const layout = join(cache, 'layout.tar')
    await writeFile(layout, imports[0]!)
    const blobs = (await readTarIndex(layout)).filter((entry) => entry.name.startsWith('blobs/'))
    expect(blobs.map((entry) => `sha256:${entry.name.slice('blobs/sha256/'.length)}`)).to.include.members([
      sha(deps),
      sha(app),
      sha(config),
    ])
    const depsBlob = blobs.find((entry) => entry.name.endsWith(sha(deps).slice(7)))!
    expect(imports[0]!.subarray(depsBlob.offset, depsBlob.offset + depsBlob.size)).to.deep.equal(deps)
    expect(load!.bytesSent).to.equal(imports[0]!.length)
    expect(layerNames().digestOf(`${hex('1')}/layer.tar`)).to.equal(sha(deps))
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
