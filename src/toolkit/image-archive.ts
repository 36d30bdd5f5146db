/**
 * A saved image archive read as the blobs of an OCI image layout, and written back as a layout tar that
 * leaves out the layers a node already holds. Both forms `docker save` writes are read: the OCI layout
 * (Docker ≥ 25, `podman save --format oci-archive`) as it is, and the legacy form (`manifest.json`,
 * `<id>/layer.tar`, `<config>.json`; Docker ≤ 24, podman's docker-archive) converted. Content is never held
 * in memory: the archive is indexed once and each layout streams byte ranges of it.
 */
import {createHash} from 'node:crypto'
import {open, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'

import {END_OF_ARCHIVE, padding, readTarIndex, tarHeader, type TarIndexEntry} from '../util/tar.js'
import {normalizeRef} from './image-ref.js'

/**
 * One blob of the layout: a range of the archive file, a file of its own (a layer a push handed over), or
 * content kudev wrote (a converted manifest).
 */
export interface LayoutBlob {
  digest: string
  size: number
  /** Layers are what a node may already hold; configs, manifests and indexes are always sent. */
  layer: boolean
  /** Offset of the content in the archive, when it comes from there. */
  offset?: number
  /** The file that is the whole blob, when it is not part of the archive. */
  file?: string
  content?: Buffer
}

export interface ImageArchive {
  /** The saved archive, or the folder of a push's layers (for messages). */
  file: string
  /** 'oci-layout' when the archive was one; 'docker' when it was the legacy form and was converted. */
  format: 'docker' | 'oci-layout'
  /** Every blob reachable from the index that the archive holds, each once. */
  blobs: LayoutBlob[]
  /** The layout's index.json. */
  index: Buffer
  /** What the index's entries point at (manifest or index digests). */
  targets: string[]
}

/** What a layout sends and leaves out. */
export interface LayoutSize {
  /** Bytes of the tar stream. */
  bytes: number
  blobsSent: number
  blobsSkipped: number
  /** Bytes of the layers left out. */
  bytesSkipped: number
}

const MEDIA = {
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar',
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const
/** Manifests, indexes and configs are small; a bigger one is not an image archive kudev should trust. */
const MAX_JSON = 8 << 20

/** Indexes `file` (written by `docker save` or `podman save`) as an OCI layout. */
export async function readImageArchive(file: string): Promise<ImageArchive> {
  const entries = new Map((await readTarIndex(file)).map((entry) => [entry.name.replace(/^\.\//, ''), entry]))
  const handle = await open(file, 'r')
  try {
    const archive = {entries, file, handle}
    if (entries.has('index.json')) return await ociLayout(archive)
    if (entries.has('manifest.json')) return await dockerArchive(archive)
    throw new Error(`${file} holds neither index.json nor manifest.json: not an image archive`)
  } finally {
    await handle.close()
  }
}

interface OpenArchive {
  file: string
  entries: Map<string, TarIndexEntry>
  handle: FileHandle
}

/** The regular file at `name`, following symlinks and hard links (legacy archives link repeated layers). */
function fileEntry(archive: OpenArchive, name: string, hops = 0): TarIndexEntry {
  const entry = archive.entries.get(name)
  if (entry === undefined || hops > 8) throw new Error(`${archive.file} has no file ${name}`)
  if (entry.type === '0' || entry.type === '7') return entry
  if (entry.type === '2') return fileEntry(archive, path.posix.join(path.posix.dirname(name), entry.linkname), hops + 1)
  if (entry.type === '1') return fileEntry(archive, entry.linkname.replace(/^\.\//, ''), hops + 1)
  throw new Error(`${archive.file}: ${name} is not a file (tar type ${entry.type})`)
}

async function readEntry(archive: OpenArchive, name: string): Promise<Buffer> {
  const entry = fileEntry(archive, name)
  if (entry.size > MAX_JSON) throw new Error(`${archive.file}: ${name} is ${entry.size} bytes, too big for JSON`)
  const content = Buffer.alloc(entry.size)
  await archive.handle.read(content, 0, entry.size, entry.offset)
  return content
}

async function readJson<T>(archive: OpenArchive, name: string): Promise<T> {
  const content = await readEntry(archive, name)
  try {
    return JSON.parse(content.toString('utf8')) as T
  } catch {
    throw new Error(`${archive.file}: ${name} is not JSON`)
  }
}

interface Descriptor {
  mediaType?: string
  digest: string
  size?: number
}

interface ManifestOrIndex {
  mediaType?: string
  config?: Descriptor
  layers?: Descriptor[]
  manifests?: Descriptor[]
}

function blobName(digest: string): string {
  const [algorithm, hex] = digest.split(':')
  if (!algorithm || !hex || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex))
    throw new Error(`"${digest}" is not a digest`)
  return `blobs/${algorithm}/${hex}`
}

/** An OCI layout as it is: every blob reachable from index.json that the archive holds. */
async function ociLayout(archive: OpenArchive): Promise<ImageArchive> {
  const index = await readEntry(archive, 'index.json')
  const top = JSON.parse(index.toString('utf8')) as ManifestOrIndex
  const blobs = new Map<string, LayoutBlob>()
  // A manifest or index is read for its children; a config or layer is a leaf.
  const visit = async (descriptor: Descriptor, role: 'config' | 'layer' | 'manifest'): Promise<void> => {
    const name = blobName(descriptor.digest)
    if (blobs.has(descriptor.digest) || !archive.entries.has(name)) return // another platform's, not saved
    const entry = fileEntry(archive, name)
    const layer = role === 'layer'
    blobs.set(descriptor.digest, {digest: descriptor.digest, layer, offset: entry.offset, size: entry.size})
    if (role !== 'manifest') return
    const child = await readJson<ManifestOrIndex>(archive, name)
    for (const manifest of child.manifests ?? []) await visit(manifest, 'manifest')
    if (child.config) await visit(child.config, 'config')
    for (const each of child.layers ?? []) await visit(each, 'layer')
  }

  const targets = (top.manifests ?? []).map((descriptor) => descriptor.digest)
  for (const descriptor of top.manifests ?? []) await visit(descriptor, 'manifest')
  // Leaves first, as Docker writes them: a reader that stops early never sees a manifest without its layers.
  return {blobs: [...blobs.values()].reverse(), file: archive.file, format: 'oci-layout', index, targets}
}

interface DockerManifestEntry {
  Config: string
  RepoTags?: string[] | null
  Layers: string[]
}

/**
 * The legacy form converted as containerd's importer converts it: a Docker schema 2 manifest per image
 * whose layers are the uncompressed layer tars (their digests are the config's diff IDs) and whose config
 * is the image config, so the image ID (the config digest) is the one Docker reports.
 */
async function dockerArchive(archive: OpenArchive): Promise<ImageArchive> {
  const images = await readJson<DockerManifestEntry[]>(archive, 'manifest.json')
  if (!Array.isArray(images) || images.length === 0) throw new Error(`${archive.file}: manifest.json lists no image`)
  const blobs = new Map<string, LayoutBlob>()
  const indexEntries: object[] = []
  const targets: string[] = []
  for (const image of images) {
    const configContent = await readEntry(archive, image.Config)
    const configDigest = sha256(configContent)
    const config = JSON.parse(configContent.toString('utf8')) as {rootfs?: {diff_ids?: string[]}}
    const diffIds = config.rootfs?.diff_ids ?? []
    if (diffIds.length !== image.Layers.length)
      throw new Error(
        `${archive.file}: ${image.Config} names ${diffIds.length} layers, manifest.json ${image.Layers.length}`,
      )
    const layers = image.Layers.map((name, i) => {
      const entry = fileEntry(archive, name)
      const digest = diffIds[i]!
      if (!blobs.has(digest)) blobs.set(digest, {digest, layer: true, offset: entry.offset, size: entry.size})
      return {digest, size: entry.size}
    })
    const {manifest, manifestDigest} = schema2Manifest(configContent, layers)
    blobs.set(configDigest, {content: configContent, digest: configDigest, layer: false, size: configContent.length})
    blobs.set(manifestDigest, {content: manifest, digest: manifestDigest, layer: false, size: manifest.length})
    targets.push(manifestDigest)
    indexEntries.push(...indexEntriesFor({digest: manifestDigest, size: manifest.length}, image.RepoTags ?? []))
  }

  return {blobs: [...blobs.values()], file: archive.file, format: 'docker', index: layoutIndex(indexEntries), targets}
}

/**
 * The Docker schema 2 manifest of a config and its uncompressed layers (digest = diff ID), as containerd's
 * importer writes one for a legacy archive: the same image gets the same manifest however it left Docker.
 */
export function schema2Manifest(
  config: Buffer,
  layers: readonly {digest: string; size: number}[],
): {manifest: Buffer; manifestDigest: string} {
  const manifest = Buffer.from(
    JSON.stringify({
      config: {digest: sha256(config), mediaType: MEDIA.config, size: config.length},
      layers: layers.map(({digest, size}) => ({digest, mediaType: MEDIA.layer, size})),
      mediaType: MEDIA.manifest,
      schemaVersion: 2,
    }),
  )
  return {manifest, manifestDigest: sha256(manifest)}
}

/** index.json's entries for a manifest: one per name it goes by, or one without a name. */
export function indexEntriesFor(manifest: {digest: string; size: number}, names: readonly string[]): object[] {
  const descriptor = {digest: manifest.digest, mediaType: MEDIA.manifest, size: manifest.size}
  if (names.length === 0) return [descriptor]
  return names.map((name) => ({...descriptor, annotations: {'io.containerd.image.name': normalizeRef(name)}}))
}

export function layoutIndex(entries: readonly object[]): Buffer {
  return Buffer.from(JSON.stringify({manifests: entries, mediaType: MEDIA.ociIndex, schemaVersion: 2}))
}

export function sha256(content: Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`
}

const OCI_LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}')

/** The tar entries of the layout without the layers in `omit`, in the order they are written. */
function layoutEntries(archive: ImageArchive, omit: ReadonlySet<string>): {name: string; blob: LayoutBlob}[] {
  const file = (name: string, content: Buffer) => ({
    blob: {content, digest: '', layer: false, size: content.length},
    name,
  })
  return [
    file('oci-layout', OCI_LAYOUT),
    ...archive.blobs
      .filter((blob) => !(blob.layer && omit.has(blob.digest)))
      .map((blob) => ({blob, name: blobName(blob.digest)})),
    file('index.json', archive.index),
  ]
}

/** The archive's layers among `held` (a node's blobs): what a layout for that node leaves out. */
export function heldLayers(archive: ImageArchive, held: ReadonlySet<string>): Set<string> {
  return new Set(archive.blobs.filter((blob) => blob.layer && held.has(blob.digest)).map((blob) => blob.digest))
}

/** How big the layout without `omit` is, and what it leaves out, before anything is sent. */
export function layoutSize(archive: ImageArchive, omit: ReadonlySet<string>): LayoutSize {
  const entries = layoutEntries(archive, omit)
  const skipped = archive.blobs.filter((blob) => blob.layer && omit.has(blob.digest))
  const headers = entries.reduce((sum, {name, blob}) => sum + headerLength(name, blob.size), 0)
  return {
    blobsSent: entries.length - 2,
    blobsSkipped: skipped.length,
    bytes: headers + entries.reduce((sum, {blob}) => sum + blob.size + padding(blob.size).length, 0) + 1024,
    bytesSkipped: skipped.reduce((sum, blob) => sum + blob.size, 0),
  }
}

function headerLength(name: string, size: number): number {
  let length = 0
  for (const block of tarHeader({mode: 0o644, mtimeSeconds: 0, name, size, type: 'file'})) length += block.length
  return length
}

/** The layout as a tar stream, leaving out the layers in `omit`; reads the archive lazily, with backpressure. */
export function layoutStream(archive: ImageArchive, omit: ReadonlySet<string> = new Set()): Readable {
  return Readable.from(layoutBlocks(archive, layoutEntries(archive, omit)), {objectMode: false})
}

const CHUNK = 1 << 20

async function* layoutBlocks(archive: ImageArchive, entries: {name: string; blob: LayoutBlob}[]) {
  const handles = new Map<string, FileHandle>()
  try {
    for (const {name, blob} of entries) {
      yield* tarHeader({mode: 0o644, mtimeSeconds: 0, name, size: blob.size, type: 'file'})
      if (blob.content) yield blob.content
      else {
        const file = blob.file ?? archive.file
        let handle = handles.get(file)
        if (handle === undefined) handles.set(file, (handle = await open(file, 'r')))
        for (let sent = 0; sent < blob.size;) {
          const buffer = Buffer.allocUnsafe(Math.min(CHUNK, blob.size - sent))
          const {bytesRead} = await handle.read(buffer, 0, buffer.length, (blob.offset ?? 0) + sent)
          if (bytesRead === 0) throw new Error(`${file} became shorter while it was being sent`)
          sent += bytesRead
          yield buffer.subarray(0, bytesRead)
        }
      }

      yield padding(blob.size)
    }

    yield END_OF_ARCHIVE
  } finally {
    for (const handle of handles.values()) await handle.close()
  }
}
