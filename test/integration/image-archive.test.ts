/**
 * readImageArchive against what the real engines save: Docker 20.10's legacy `docker save` (converted to
 * an OCI layout, which podman must load as the very image Docker has), and podman's oci-archive and
 * docker-archive. Needs Docker and podman; in CI a missing one fails the run (requireDocker, requirePodman).
 */
import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {open, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'

import {type ImageArchive, layoutSize, layoutStream, readImageArchive} from '../../src/toolkit/image-archive.js'
import {readTarIndex} from '../../src/util/tar.js'
import {docker, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {ensureBusyboxBase} from '../support/images.js'
import {podman, podmanResult, removePodmanImage, requirePodman} from '../support/podman.js'

async function blobBytes(archive: ImageArchive, digest: string): Promise<Buffer> {
  const blob = archive.blobs.find((each) => each.digest === digest)
  if (blob === undefined) throw new Error(`${archive.file} has no blob ${digest}`)
  if (blob.content) return blob.content
  const handle = await open(archive.file, 'r')
  try {
    const content = Buffer.alloc(blob.size)
    await handle.read(content, 0, blob.size, blob.offset)
    return content
  } finally {
    await handle.close()
  }
}

const sha256 = (content: Buffer): string => `sha256:${createHash('sha256').update(content).digest('hex')}`

interface Manifest {
  config?: {digest: string}
  layers?: {digest: string}[]
  manifests?: {digest: string}[]
}

/** The images (config and layer digests) the archive's index points at, following nested indexes. */
async function imagesOf(archive: ImageArchive): Promise<{config: string; layers: string[]}[]> {
  const images: {config: string; layers: string[]}[] = []
  const visit = async (digest: string): Promise<void> => {
    if (!archive.blobs.some((blob) => blob.digest === digest)) return
    const manifest = JSON.parse((await blobBytes(archive, digest)).toString()) as Manifest
    for (const child of manifest.manifests ?? []) await visit(child.digest)
    if (manifest.config)
      images.push({config: manifest.config.digest, layers: (manifest.layers ?? []).map((layer) => layer.digest)})
  }

  for (const target of new Set(archive.targets)) await visit(target)
  return images
}

/** Every blob's bytes hash to its digest. */
async function expectBlobsIntact(archive: ImageArchive): Promise<void> {
  for (const blob of archive.blobs)
    expect(sha256(await blobBytes(archive, blob.digest)), blob.digest).to.equal(blob.digest)
}

describe('image archives saved by the real engines', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()

  describe('docker save (Docker 20.10: the legacy form)', () => {
    let dir: string
    let first: string
    let second: string
    let ids: Record<string, string>
    let layers: Record<string, string[]>

    before(async function () {
      await requireDocker(this)
      const base = await ensureBusyboxBase()
      dir = await cleanup.tempDir('kudev-image-archive-')
      const name = uniqueName('kudev-archive')
      first = cleanup.image(`${name}:first`)
      second = cleanup.image(`${name}:second`)
      ids = {}
      layers = {}
      // first: the base and own.txt; second: the same two steps (from the build cache) and more.txt. Docker
      // 20.10 saves the base's layer.tar once for both (same v1 ID) and second's own.txt layer, whose v1 ID
      // differs from first's top one, as a symlink to first's.
      await writeFile(join(dir, 'own.txt'), `${name}\n`)
      await writeFile(join(dir, 'more.txt'), 'more\n')
      await writeFile(join(dir, 'Dockerfile.first'), `FROM ${base}\nCOPY own.txt /\n`)
      await writeFile(join(dir, 'Dockerfile.second'), `FROM ${base}\nCOPY own.txt /\nCOPY more.txt /\n`)
      for (const [tag, dockerfile] of [
        [first, 'Dockerfile.first'],
        [second, 'Dockerfile.second'],
      ] as const) {
        await docker(['build', '-q', '-f', join(dir, dockerfile), '-t', tag, dir], {
          env: {DOCKER_BUILDKIT: '0'},
          timeout: 120_000,
        })
        ids[tag] = await docker(['image', 'inspect', '-f', '{{.Id}}', tag])
        layers[tag] = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', tag])) as string[]
      }

      expect(layers[first]).to.have.length(2)
      expect(layers[second]).to.have.length(3)
      expect(layers[second]!.slice(0, 2)).to.deep.equal(layers[first])
    })

    it('reads a save of two images sharing a layer: configs are the image IDs, layers the RootFS layers, each once', async () => {
      const file = join(dir, 'both.tar')
      await docker(['save', '-o', file, first, second])
      const archive = await readImageArchive(file)
      expect(archive.format).to.equal('docker')
      await expectBlobsIntact(archive)

      const images = await imagesOf(archive)
      expect(images.map((image) => image.config)).to.have.members([ids[first], ids[second]])
      for (const tag of [first, second]) {
        const image = images.find((each) => each.config === ids[tag])!
        expect(image.layers, tag).to.deep.equal(layers[tag])
      }

      const layerBlobs = archive.blobs.filter((blob) => blob.layer).map((blob) => blob.digest)
      expect(layerBlobs).to.have.members(layers[second]!)
      const configs = archive.blobs.filter((blob) => !blob.layer).map((blob) => blob.digest)
      expect(configs).to.include.members([ids[first], ids[second]])
      // What made it a test of links: second's own.txt layer.tar is a symlink to first's.
      const links = (await readTarIndex(file)).filter(
        (entry) => entry.name.endsWith('/layer.tar') && entry.type === '2',
      )
      expect(links).to.have.length(1)

      const names = (
        JSON.parse(archive.index.toString()) as {manifests: {annotations?: Record<string, string>}[]}
      ).manifests.map((entry) => entry.annotations?.['io.containerd.image.name'])
      expect(names).to.have.members([`docker.io/library/${first}`, `docker.io/library/${second}`])
    })

    it('writes a layout podman loads as the very image Docker has (same image ID)', async function () {
      await requirePodman(this)
      const file = join(dir, 'second.tar')
      await docker(['save', '-o', file, second])
      const archive = await readImageArchive(file)
      const layout = join(dir, 'second-layout.tar')
      await pipeline(layoutStream(archive), createWriteStream(layout))
      expect((await stat(layout)).size).to.equal(layoutSize(archive, new Set()).bytes)

      const name = `docker.io/library/${second}`
      cleanup.add(`podman image ${name}`, () => removePodmanImage(name))
      cleanup.add(`podman image ${ids[second]}`, async () => {
        const result = await podmanResult(['rmi', '-f', ids[second]!.replace('sha256:', '')])
        if (result.exitCode !== 0 && !/image not known/.test(result.stderr)) throw new Error(result.stderr)
      })
      const loaded = await podman(['load', '-i', layout])
      const podmanId = await podman(['image', 'inspect', '-f', '{{.Id}}', ids[second]!.replace('sha256:', '')])
      expect(`sha256:${podmanId.trim()}`, loaded).to.equal(ids[second])
      expect(loaded).to.include(name)
      const podmanLayers = JSON.parse(
        await podman(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', name]),
      ) as string[]
      expect(podmanLayers).to.deep.equal(layers[second])
    })
  })

  describe('podman save', () => {
    let dir: string
    let name: string
    let id: string
    let diffIds: string[]

    before(async function () {
      await requirePodman(this)
      dir = await cleanup.tempDir('kudev-image-archive-podman-')
      name = `localhost/${uniqueName('kudev-archive')}:1`
      cleanup.add(`podman image ${name}`, () => removePodmanImage(name))
      await writeFile(join(dir, 'hello.txt'), `${name}\n`)
      await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /\n')
      await podman(['build', '-q', '-t', name, dir])
      id = `sha256:${(await podman(['image', 'inspect', '-f', '{{.Id}}', name])).trim()}`
      diffIds = JSON.parse(await podman(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', name])) as string[]
    })

    for (const format of ['oci-archive', 'docker-archive'] as const) {
      it(`reads --format ${format}: the config digest is podman's image ID`, async () => {
        const file = join(dir, `${format}.tar`)
        await podman(['save', '--format', format, '-o', file, name])
        const archive = await readImageArchive(file)
        expect(archive.format).to.equal(format === 'oci-archive' ? 'oci-layout' : 'docker')
        await expectBlobsIntact(archive)
        const images = await imagesOf(archive)
        expect(images.map((image) => image.config)).to.deep.equal([id])
        expect(images[0]!.layers).to.have.length(diffIds.length)
        // Layers as the docker form stores them are uncompressed: their digests are the diff IDs.
        if (format === 'docker-archive') expect(images[0]!.layers).to.deep.equal(diffIds)
        for (const layer of images[0]!.layers)
          expect(archive.blobs.find((blob) => blob.digest === layer)?.layer, layer).to.equal(true)
      })
    }
  })
})
