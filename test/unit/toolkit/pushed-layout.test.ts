/**
 * The layout a node is sent from what a push handed over (pushed-layout.ts), and the record of layer sizes
 * it names held layers by (layer-record.ts): the same manifest a save of the image converts to, layers the
 * node holds left out, and the save whenever the node lacks a layer Docker kept or kudev lacks its size.
 */
import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Readable} from 'node:stream'

import {layoutSize, layoutStream, schema2Manifest} from '../../../src/toolkit/image-archive.js'
import {readLayerRecord, rememberLayers} from '../../../src/toolkit/layer-record.js'
import type {PushedImage} from '../../../src/toolkit/loopback-registry.js'
import {pushedLayout} from '../../../src/toolkit/pushed-layout.js'
import {readTarIndex} from '../../../src/util/tar.js'

const digestOf = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`

describe('a layout from what docker push handed over', () => {
  let dir: string
  let pushed: PushedImage
  const deps = Buffer.alloc(4096, 1)
  const app = Buffer.from('app v2\n')
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kudev-pushed-'))
    writeFileSync(join(dir, 'app.tar'), app)
    const diffIds = [digestOf(deps), digestOf(app)]
    const config = Buffer.from(JSON.stringify({rootfs: {diff_ids: diffIds, type: 'layers'}}))
    pushed = {
      config,
      configDigest: digestOf(config),
      diffIds,
      dir,
      sent: new Map([[digestOf(app), {file: join(dir, 'app.tar'), size: app.length}]]),
    }
  })
  afterEach(() => rmSync(dir, {force: true, recursive: true}))

  async function entries(stream: Readable): Promise<Map<string, string>> {
    const file = join(dir, 'layout.tar')
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    writeFileSync(file, Buffer.concat(chunks))
    const content = readFileSync(file)
    return new Map(
      (await readTarIndex(file)).map((entry) => [
        entry.name,
        content.subarray(entry.offset, entry.offset + entry.size).toString('latin1'),
      ]),
    )
  }

  it("leaves out the layer the node holds, sends the one Docker handed over, and names them in a save's manifest", async () => {
    const sizes = new Map([[digestOf(deps), deps.length]])
    const layout = pushedLayout(pushed, 'app:2', new Set([digestOf(deps)]), sizes)
    if (!('archive' in layout)) throw new Error(layout.needsSave)
    const {manifestDigest} = schema2Manifest(pushed.config, [
      {digest: digestOf(deps), size: deps.length},
      {digest: digestOf(app), size: app.length},
    ])
    expect(layout.archive.targets).to.deep.equal([manifestDigest])
    expect([...layout.omit]).to.deep.equal([digestOf(deps)])
    const size = layoutSize(layout.archive, layout.omit)
    expect(size).to.include({blobsSent: 3, blobsSkipped: 1, bytesSkipped: deps.length})
    const sent = await entries(layoutStream(layout.archive, layout.omit))
    expect([...sent.keys()].sort()).to.deep.equal(
      [
        'oci-layout',
        'index.json',
        `blobs/sha256/${digestOf(app).slice(7)}`,
        `blobs/sha256/${pushed.configDigest.slice(7)}`,
        `blobs/sha256/${manifestDigest.slice(7)}`,
      ].sort(),
    )
    expect(sent.get(`blobs/sha256/${digestOf(app).slice(7)}`)).to.equal(app.toString('latin1'))
    const index = JSON.parse(sent.get('index.json')!) as {manifests: {digest: string; annotations: object}[]}
    expect(index.manifests).to.deep.equal([
      {
        annotations: {'io.containerd.image.name': 'docker.io/library/app:2'},
        digest: manifestDigest,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: sent.get(`blobs/sha256/${manifestDigest.slice(7)}`)!.length,
      },
    ])
  })

  it('leaves out a layer Docker handed over when the node holds it already', () => {
    const layout = pushedLayout(pushed, 'app:2', new Set(pushed.diffIds), new Map([[digestOf(deps), deps.length]]))
    if (!('archive' in layout)) throw new Error(layout.needsSave)
    expect([...layout.omit]).to.deep.equal(pushed.diffIds)
  })

  it('sends the node to the save when it lacks a layer Docker did not hand over, or kudev has no size for one it holds', () => {
    expect(pushedLayout(pushed, 'app:2', new Set(), new Map([[digestOf(deps), deps.length]]))).to.deep.equal({
      needsSave: `it lacks layer ${digestOf(deps)}, which Docker did not hand over`,
    })
    expect(pushedLayout(pushed, 'app:2', new Set([digestOf(deps)]), new Map())).to.deep.equal({
      needsSave: `kudev has no record of the size of layer ${digestOf(deps)}`,
    })
  })
})

describe('the record of layers', () => {
  let cache: string
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'kudev-layers-'))
  })
  afterEach(() => rmSync(cache, {force: true, recursive: true}))
  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`
  const sizes = (env: NodeJS.ProcessEnv) => readLayerRecord(env).sizes

  it('keeps what it was told across runs, keeps the most recently seen when full, and ignores anything but digests', () => {
    const env = {KUDEV_CACHE_DIR: cache}
    expect(sizes(env).size).to.equal(0)
    rememberLayers(
      {
        diffIds: [
          [digest(7), digest(1)],
          [digest(8), 'not-a-digest'],
        ],
        sizes: [
          [digest(1), 10],
          ['not-a-digest', 5],
        ],
      },
      env,
    )
    expect([...sizes(env)]).to.deep.equal([[digest(1), 10]])
    expect([...readLayerRecord(env).diffIds]).to.deep.equal([[digest(7), digest(1)]])
    rememberLayers({sizes: Array.from({length: 4094}, (_, i) => [digest(i + 2), i] as const)}, env)
    // Seen again with a new one: moved to the newest end, so the next addition drops digest(2) instead.
    rememberLayers(
      {
        sizes: [
          [digest(1), 10],
          [digest(9999), 1],
        ],
      },
      env,
    )
    rememberLayers({sizes: [[digest(10_000), 1]]}, env)
    const known = sizes(env)
    expect(known.size).to.equal(4096)
    expect(known.get(digest(1)), 'seen again: kept').to.equal(10)
    expect(known.get(digest(10_000))).to.equal(1)
    expect(known.has(digest(2)), 'the oldest went').to.equal(false)
    expect(readLayerRecord(env).diffIds.get(digest(7))).to.equal(digest(1))
  })

  it('trusts no part of a damaged or foreign record', () => {
    const env = {KUDEV_CACHE_DIR: cache}
    rememberLayers({sizes: [[digest(1), 10]]}, env)
    const file = join(cache, 'layers.json')
    expect(JSON.parse(readFileSync(file, 'utf8'))).to.include({version: 2})
    for (const damaged of [
      '{"sizes":[["sha256:' + '1'.padStart(64, '0') + '",10]',
      JSON.stringify({diffIds: [], sizes: [[digest(1), 10]], version: 1}),
      JSON.stringify({
        diffIds: [],
        sizes: [
          [digest(1), 10],
          [digest(2), -1],
        ],
        version: 2,
      }),
      JSON.stringify({
        diffIds: [],
        sizes: [
          [digest(1), 10],
          ['sha256:zz', 1],
        ],
        version: 2,
      }),
      JSON.stringify({diffIds: [[digest(3), 'x']], sizes: [[digest(1), 10]], version: 2}),
    ]) {
      writeFileSync(file, damaged)
      expect(sizes(env).size, damaged).to.equal(0)
    }
  })

  it('is only a shortcut: a cache it cannot write to is no error', () => {
    const blocked = join(cache, 'a-file')
    writeFileSync(blocked, '')
    expect(() => rememberLayers({sizes: [[digest(1), 10]]}, {KUDEV_CACHE_DIR: blocked})).not.to.throw()
    expect(sizes({KUDEV_CACHE_DIR: blocked}).size).to.equal(0)
  })
})
