import {expect} from 'chai'
import {execa} from 'execa'
import {createHash, randomBytes} from 'node:crypto'
import {link, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import type {Readable} from 'node:stream'

import {type ImageArchive, layoutSize, layoutStream, readImageArchive} from '../../../src/toolkit/image-archive.js'
import {readTarIndex} from '../../../src/util/tar.js'

const sha256 = (content: Buffer | string): string => createHash('sha256').update(content).digest('hex')
const digestOf = (content: Buffer | string): string => `sha256:${sha256(content)}`

async function gnuTar(args: string[]): Promise<void> {
  await execa('tar', args, {timeout: 60_000})
}

/** Writes `files` (name → content) under `dir`, creating folders. */
async function writeTree(dir: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), {recursive: true})
    await writeFile(join(dir, name), content)
  }
}

/** A real layer: a tar of a few files, made by GNU tar. */
async function makeLayer(work: string, files: Record<string, Buffer | string>): Promise<Buffer> {
  const dir = await mkdtemp(join(work, 'layer-'))
  await writeTree(join(dir, 'root'), files)
  const out = join(dir, 'layer.tar')
  await gnuTar(['-C', join(dir, 'root'), '--format=posix', '--sort=name', '-cf', out, ...Object.keys(files)])
  return readFile(out)
}

async function streamBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Bytes [offset, offset + size) of `file`. */
async function slice(file: string, offset: number, size: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const content = Buffer.alloc(size)
    await handle.read(content, 0, size, offset)
    return content
  } finally {
    await handle.close()
  }
}

/** A blob's bytes, wherever the archive keeps them. */
async function blobBytes(archive: ImageArchive, digest: string): Promise<Buffer> {
  const blob = archive.blobs.find((each) => each.digest === digest)
  expect(blob, digest).to.not.equal(undefined)
  return blob!.content ?? slice(archive.file, blob!.offset!, blob!.size)
}

interface Manifest {
  mediaType: string
  schemaVersion: number
  config: {digest: string; size: number; mediaType: string}
  layers: {digest: string; size: number; mediaType: string}[]
}
interface Index {
  manifests: {digest: string; annotations?: Record<string, string>}[]
}

/**
 * Writes the layout of `archive` without `omit` to a file and checks it as a tar: `oci-layout` first,
 * `index.json` last, every blob named by its sha256, the size layoutSize() announced. Returns the blob
 * digests it holds.
 */
async function checkLayout(work: string, archive: ImageArchive, omit: Set<string>): Promise<string[]> {
  const bytes = await streamBytes(layoutStream(archive, omit))
  const size = layoutSize(archive, omit)
  expect(size.bytes).to.equal(bytes.length)
  const out = join(work, `layout-${randomBytes(4).toString('hex')}.tar`)
  await writeFile(out, bytes)
  const entries = await readTarIndex(out)
  expect(entries[0]!.name).to.equal('oci-layout')
  expect(JSON.parse((await slice(out, entries[0]!.offset, entries[0]!.size)).toString())).to.deep.equal({
    imageLayoutVersion: '1.0.0',
  })
  const last = entries.at(-1)!
  expect(last.name).to.equal('index.json')
  expect(await slice(out, last.offset, last.size)).to.deep.equal(archive.index)
  const blobs = entries.slice(1, -1)
  for (const entry of blobs) {
    expect(entry.name).to.match(/^blobs\/sha256\/[a-f0-9]{64}$/)
    expect(entry.type).to.equal('0')
    expect(sha256(await slice(out, entry.offset, entry.size)), entry.name).to.equal(entry.name.slice(13))
  }

  const digests = blobs.map((entry) => `sha256:${entry.name.slice(13)}`)
  expect(new Set(digests).size, 'each blob once').to.equal(digests.length)
  const skipped = archive.blobs.filter((blob) => blob.layer && omit.has(blob.digest))
  expect(size).to.deep.equal({
    blobsSent: archive.blobs.length - skipped.length,
    blobsSkipped: skipped.length,
    bytes: bytes.length,
    bytesSkipped: skipped.reduce((sum, blob) => sum + blob.size, 0),
  })
  // GNU tar reads it too, as a whole (a wrong size or padding would shift every later header).
  const listed = await execa('tar', ['-tf', out])
  expect(listed.stdout.split('\n')).to.deep.equal(entries.map((entry) => entry.name))
  return digests
}

describe('image archives', () => {
  let work: string
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'kudev-image-archive-'))
  })
  afterEach(async () => {
    await rm(work, {force: true, recursive: true})
  })

  describe('the legacy docker form (manifest.json, <id>/layer.tar, <config>.json)', () => {
    interface Legacy {
      file: string
      layers: Buffer[]
      configs: Buffer[]
    }

    /**
     * Two images as Docker 20.10 saves them: app (base, app layer; tags app:1 and
     * localhost:5000/team/app) and tool (base, tool layer; tag registry.example.com/tool), whose base
     * layer.tar links to app's; plus an untagged image of the base alone. `share` says how.
     */
    async function legacyArchive(options: {share: 'hardlink' | 'symlink'; dotSlash?: boolean}): Promise<Legacy> {
      const base = await makeLayer(work, {'bin/base': 'base layer\n', 'etc/os-release': 'ID=test\n'})
      const app = await makeLayer(work, {'app/big.bin': randomBytes(2.5 * 1024 * 1024 + 17)})
      const tool = await makeLayer(work, {'tool/run.sh': '#!/bin/sh\necho tool\n'})
      const config = (diffIds: string[], cmd: string) =>
        Buffer.from(
          JSON.stringify({
            architecture: 'amd64',
            config: {Cmd: [cmd]},
            os: 'linux',
            rootfs: {diff_ids: diffIds, type: 'layers'},
          }),
        )
      const appConfig = config([digestOf(base), digestOf(app)], '/app')
      const toolConfig = config([digestOf(base), digestOf(tool)], '/tool')
      const baseConfig = config([digestOf(base)], '/bin/base')
      // Layer folder names: v1 IDs, distinct per image even for the same layer.
      const id = (what: string) => sha256(`v1 id ${what}`)
      const dir = join(work, 'legacy')
      await writeTree(dir, {
        [`${id('app-base')}/layer.tar`]: base,
        [`${id('app-app')}/layer.tar`]: app,
        [`${id('tool-tool')}/layer.tar`]: tool,
        [`${sha256(appConfig)}.json`]: appConfig,
        [`${sha256(toolConfig)}.json`]: toolConfig,
        [`${sha256(baseConfig)}.json`]: baseConfig,
        'manifest.json': JSON.stringify([
          {
            Config: `${sha256(appConfig)}.json`,
            Layers: [`${id('app-base')}/layer.tar`, `${id('app-app')}/layer.tar`],
            RepoTags: ['app:1', 'localhost:5000/team/app'],
          },
          {
            Config: `${sha256(toolConfig)}.json`,
            Layers: [`${id('tool-base')}/layer.tar`, `${id('tool-tool')}/layer.tar`],
            RepoTags: ['registry.example.com/tool:2'],
          },
          {Config: `${sha256(baseConfig)}.json`, Layers: [`${id('base-base')}/layer.tar`], RepoTags: null},
        ]),
        repositories: '{}',
      })
      for (const what of ['tool-base', 'base-base']) {
        await mkdir(join(dir, id(what)))
        if (options.share === 'symlink')
          await symlink(`../${id('app-base')}/layer.tar`, join(dir, id(what), 'layer.tar'))
        else await link(join(dir, id('app-base'), 'layer.tar'), join(dir, id(what), 'layer.tar'))
      }

      const file = join(work, 'legacy.tar')
      await gnuTar([
        '-C',
        dir,
        '--sort=name',
        '-cf',
        file,
        options.dotSlash ? '.' : '--',
        ...(options.dotSlash ? [] : await listTop(dir)),
      ])
      return {configs: [appConfig, toolConfig, baseConfig], file, layers: [base, app, tool]}
    }

    async function listTop(dir: string): Promise<string[]> {
      return (await readdir(dir)).sort()
    }

    for (const share of ['symlink', 'hardlink'] as const) {
      it(`converts it to an OCI layout: each layer once (a repeated layer.tar is a ${share}), configs and generated manifests`, async () => {
        const legacy = await legacyArchive({share})
        const archive = await readImageArchive(legacy.file)
        expect(archive.format).to.equal('docker')
        expect(archive.file).to.equal(legacy.file)

        const layerDigests = legacy.layers.map((layer) => digestOf(layer))
        const configDigests = legacy.configs.map((config) => digestOf(config))
        expect(archive.blobs.filter((blob) => blob.layer).map((blob) => blob.digest)).to.have.members(layerDigests)
        expect(archive.blobs.filter((blob) => blob.layer)).to.have.length(3)
        const digests = archive.blobs.map((blob) => blob.digest)
        expect(new Set(digests).size, 'each blob once').to.equal(digests.length)
        expect(digests).to.include.members(configDigests)
        for (const [i, layer] of legacy.layers.entries()) {
          const blob = archive.blobs.find((each) => each.digest === layerDigests[i])!
          expect(blob.size).to.equal(layer.length)
          expect(blob.content, 'layers stay in the archive').to.equal(undefined)
          expect(await blobBytes(archive, blob.digest)).to.deep.equal(layer)
        }

        for (const config of legacy.configs) expect(await blobBytes(archive, digestOf(config))).to.deep.equal(config)
        // Every blob's bytes hash to its digest.
        for (const blob of archive.blobs) expect(digestOf(await blobBytes(archive, blob.digest))).to.equal(blob.digest)

        // One manifest per image, in manifest.json's order, each a Docker schema 2 manifest of that image.
        expect(archive.targets).to.have.length(3)
        const expected = [
          [configDigests[0], [layerDigests[0], layerDigests[1]]],
          [configDigests[1], [layerDigests[0], layerDigests[2]]],
          [configDigests[2], [layerDigests[0]]],
        ] as const
        for (const [i, target] of archive.targets.entries()) {
          const blob = archive.blobs.find((each) => each.digest === target)!
          expect(blob.layer).to.equal(false)
          const manifest = JSON.parse((await blobBytes(archive, target)).toString()) as Manifest
          expect(manifest.schemaVersion).to.equal(2)
          expect(manifest.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json')
          expect(manifest.config).to.deep.equal({
            digest: expected[i]![0],
            mediaType: 'application/vnd.docker.container.image.v1+json',
            size: legacy.configs[i]!.length,
          })
          expect(manifest.layers.map((layer) => layer.digest)).to.deep.equal(expected[i]![1])
          for (const layer of manifest.layers) {
            expect(layer.mediaType).to.equal('application/vnd.docker.image.rootfs.diff.tar')
            expect(layer.size).to.equal(archive.blobs.find((each) => each.digest === layer.digest)!.size)
          }
        }
      })
    }

    it('names the index entries by the normalised RepoTags, and leaves an untagged image unnamed', async () => {
      const legacy = await legacyArchive({dotSlash: true, share: 'symlink'})
      const archive = await readImageArchive(legacy.file)
      const index = JSON.parse(archive.index.toString()) as Index & {mediaType: string; schemaVersion: number}
      expect(index.schemaVersion).to.equal(2)
      expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json')
      const [app, tool, base] = archive.targets
      expect(
        index.manifests.map((entry) => [entry.digest, entry.annotations?.['io.containerd.image.name']]),
      ).to.deep.equal([
        [app, 'docker.io/library/app:1'],
        [app, 'localhost:5000/team/app:latest'],
        [tool, 'registry.example.com/tool:2'],
        [base, undefined],
      ])
      for (const entry of index.manifests) {
        const blob = archive.blobs.find((each) => each.digest === entry.digest)!
        expect(entry).to.include({mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: blob.size})
      }
    })

    it('throws when a config names another number of layers than manifest.json', async () => {
      const layer = await makeLayer(work, {'a.txt': 'a\n'})
      const config = Buffer.from(JSON.stringify({rootfs: {diff_ids: [digestOf(layer), digestOf('x')], type: 'layers'}}))
      const dir = join(work, 'mismatch')
      await writeTree(dir, {
        [`${sha256(config)}.json`]: config,
        'l1/layer.tar': layer,
        'manifest.json': JSON.stringify([
          {Config: `${sha256(config)}.json`, Layers: ['l1/layer.tar'], RepoTags: ['a:1']},
        ]),
      })
      const file = join(work, 'mismatch.tar')
      await gnuTar(['-C', dir, '-cf', file, `${sha256(config)}.json`, 'l1', 'manifest.json'])
      const error = await readImageArchive(file).then(
        () => undefined,
        (error_: unknown) => error_,
      )
      expect(error).to.be.instanceOf(Error)
      expect((error as Error).message)
        .to.include(file)
        .and.include('2')
        .and.include('1')
    })

    it('throws for a tar that is no image archive, naming the file', async () => {
      const dir = join(work, 'plain')
      await writeTree(dir, {'readme.txt': 'hello\n'})
      const file = join(work, 'plain.tar')
      await gnuTar(['-C', dir, '-cf', file, 'readme.txt'])
      const error = await readImageArchive(file).then(
        () => undefined,
        (error_: unknown) => error_,
      )
      expect(error).to.be.instanceOf(Error)
      expect((error as Error).message).to.include(file)
    })

    it('writes a layout without the omitted layers, never without a config or manifest, of exactly layoutSize() bytes', async () => {
      const legacy = await legacyArchive({share: 'symlink'})
      const archive = await readImageArchive(legacy.file)
      const [base, app, tool] = legacy.layers.map((layer) => digestOf(layer))
      const configs = legacy.configs.map((config) => digestOf(config))
      const all = archive.blobs.map((blob) => blob.digest)

      expect(await checkLayout(work, archive, new Set())).to.have.members(all)
      const omit = new Set([base!, app!, configs[0]!, archive.targets[1]!, digestOf('not in the archive')])
      const sent = await checkLayout(work, archive, omit)
      expect(sent).to.have.members(all.filter((digest) => digest !== base && digest !== app))
      expect(sent)
        .to.include(tool)
        .and.include.members([...configs, ...archive.targets])
      expect(layoutSize(archive, omit)).to.include({
        blobsSkipped: 2,
        bytesSkipped: legacy.layers[0]!.length + legacy.layers[1]!.length,
      })
      const everything = new Set(all)
      expect(await checkLayout(work, archive, everything)).to.have.members([...configs, ...archive.targets])
    })
  })

  describe('the OCI image layout (index.json, blobs/sha256/…)', () => {
    interface Oci {
      file: string
      top: string
      present: {index: string; manifest: string; config: string; layers: Buffer[]}
      absent: {manifest: string; config: string; layer: string}
    }

    /**
     * What Docker's containerd store saves: index.json → an image index → an amd64 and an arm64 manifest,
     * only the amd64 one's blobs in the archive. `nested: false` is the classic store's form, index.json →
     * manifest. Docker ≥ 25 also writes manifest.json; index.json wins.
     */
    async function ociArchive(options: {nested: boolean}): Promise<Oci> {
      const layers = [
        await makeLayer(work, {'bin/base': 'base\n'}),
        await makeLayer(work, {'app/data.bin': randomBytes(1024 * 1024 + 3)}),
      ]
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: {diff_ids: layers.map((layer) => digestOf(layer)), type: 'layers'},
        }),
      )
      const descriptor = (mediaType: string, content: Buffer, extra: object = {}) => ({
        digest: digestOf(content),
        mediaType,
        size: content.length,
        ...extra,
      })
      const manifest = Buffer.from(
        JSON.stringify({
          config: descriptor('application/vnd.oci.image.config.v1+json', config),
          layers: layers.map((layer) => descriptor('application/vnd.oci.image.layer.v1.tar', layer)),
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          schemaVersion: 2,
        }),
      )
      const absentConfig = Buffer.from('{"architecture":"arm64","os":"linux"}')
      const absentLayer = Buffer.from('an arm64 layer, not saved')
      const absentManifest = Buffer.from(
        JSON.stringify({
          config: descriptor('application/vnd.oci.image.config.v1+json', absentConfig),
          layers: [descriptor('application/vnd.oci.image.layer.v1.tar', absentLayer)],
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          schemaVersion: 2,
        }),
      )
      const imageIndex = Buffer.from(
        JSON.stringify({
          manifests: [
            descriptor('application/vnd.oci.image.manifest.v1+json', manifest, {
              platform: {architecture: 'amd64', os: 'linux'},
            }),
            descriptor('application/vnd.oci.image.manifest.v1+json', absentManifest, {
              platform: {architecture: 'arm64', os: 'linux'},
            }),
          ],
          mediaType: 'application/vnd.oci.image.index.v1+json',
          schemaVersion: 2,
        }),
      )
      const top = options.nested
        ? descriptor('application/vnd.oci.image.index.v1+json', imageIndex, {
            annotations: {'io.containerd.image.name': 'docker.io/library/app:1'},
          })
        : descriptor('application/vnd.oci.image.manifest.v1+json', manifest)
      const blob = (content: Buffer) => [`blobs/sha256/${sha256(content)}`, content] as const
      const dir = join(work, 'oci')
      await writeTree(dir, {
        ...Object.fromEntries([...layers, config, manifest, ...(options.nested ? [imageIndex] : [])].map(blob)),
        'index.json': JSON.stringify({
          manifests: [top],
          mediaType: 'application/vnd.oci.image.index.v1+json',
          schemaVersion: 2,
        }),
        'manifest.json': JSON.stringify([{Config: `blobs/sha256/${sha256(config)}`, Layers: [], RepoTags: ['app:1']}]),
        'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
      })
      const file = join(work, 'oci.tar')
      await gnuTar([
        '-C',
        dir,
        '--format=posix',
        '--sort=name',
        '-cf',
        file,
        'blobs',
        'index.json',
        'manifest.json',
        'oci-layout',
      ])
      return {
        absent: {config: digestOf(absentConfig), layer: digestOf(absentLayer), manifest: digestOf(absentManifest)},
        file,
        present: {config: digestOf(config), index: digestOf(imageIndex), layers, manifest: digestOf(manifest)},
        top: top.digest,
      }
    }

    it('lists only the blobs the archive holds from a nested index, leaves first, layers flagged', async () => {
      const oci = await ociArchive({nested: true})
      const archive = await readImageArchive(oci.file)
      expect(archive.format).to.equal('oci-layout')
      expect(archive.targets).to.deep.equal([oci.top])
      expect(archive.index).to.deep.equal(await readFile(join(work, 'oci', 'index.json')))
      const layers = oci.present.layers.map((layer) => digestOf(layer))
      expect(archive.blobs.map((blob) => blob.digest)).to.have.members([
        ...layers,
        oci.present.config,
        oci.present.manifest,
        oci.present.index,
      ])
      expect(archive.blobs).to.have.length(5)
      for (const absent of Object.values(oci.absent))
        expect(archive.blobs.map((blob) => blob.digest)).to.not.include(absent)
      for (const blob of archive.blobs) {
        expect(blob.layer, blob.digest).to.equal(layers.includes(blob.digest))
        expect(digestOf(await blobBytes(archive, blob.digest))).to.equal(blob.digest)
      }

      // Leaves before what points at them: a manifest comes after its config and layers, the index last.
      const order = archive.blobs.map((blob) => blob.digest)
      for (const leaf of [...layers, oci.present.config])
        expect(order.indexOf(leaf)).to.be.lessThan(order.indexOf(oci.present.manifest))
      expect(order.at(-1)).to.equal(oci.present.index)
    })

    it('reads the classic form, index.json → manifest', async () => {
      const oci = await ociArchive({nested: false})
      const archive = await readImageArchive(oci.file)
      expect(archive.format).to.equal('oci-layout')
      expect(archive.targets).to.deep.equal([oci.present.manifest])
      expect(archive.blobs.map((blob) => [blob.digest, blob.layer])).to.have.deep.members([
        ...oci.present.layers.map((layer) => [digestOf(layer), true]),
        [oci.present.config, false],
        [oci.present.manifest, false],
      ])
    })

    it('writes a layout without the omitted layers, never without a config, manifest or index, of exactly layoutSize() bytes', async () => {
      const oci = await ociArchive({nested: true})
      const archive = await readImageArchive(oci.file)
      const [base, app] = oci.present.layers.map((layer) => digestOf(layer))
      const structure = [oci.present.config, oci.present.manifest, oci.present.index]

      expect(await checkLayout(work, archive, new Set())).to.have.members([base, app, ...structure])
      expect(await checkLayout(work, archive, new Set([base!, ...structure]))).to.have.members([app, ...structure])
      expect(layoutSize(archive, new Set([base!]))).to.include({
        blobsSent: 4,
        blobsSkipped: 1,
        bytesSkipped: oci.present.layers[0]!.length,
      })
      expect(await checkLayout(work, archive, new Set([base!, app!, oci.absent.layer]))).to.have.members(structure)
    })
  })
})
