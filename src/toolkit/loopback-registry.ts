/**
 * The layers of an image that Docker hands over when it pushes, without a whole `docker save`.
 *
 * Docker 20.10 stages the whole image before `docker save` sends a byte (5–7 s for a 665 MB image), but
 * `docker push` uploads only the layers it cannot find on the registry, asking (HEAD) for each layer it has
 * pushed or pulled before. kudev runs a registry of its own on 127.0.0.1 for one push: it answers yes to
 * such a question when the caller says the layer need not be sent (every node holds it), no to the config's
 * (its digest is the image ID), so Docker sends the config and the layers the nodes lack, compressing only
 * those it never pushed before: after an edit, the new app layer. Measured in docs/benchmarks.md.
 *
 * The registry answers only what `docker push` asks (the distribution API v2 for one repository) and only
 * on 127.0.0.1: Docker pushes to a loopback registry over plain HTTP without configuration.
 */
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {readFile, rm} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'

import type {BaseToolkit} from '../plugins/contract.js'
import {docker} from './docker.js'

/** What one push handed over. */
export interface PushedImage {
  /** The image config as Docker sent it: its sha256 is the image ID. */
  config: Buffer
  configDigest: string
  /** Where the layers are. */
  dir: string
  /** The config's diff IDs, in layer order. */
  diffIds: string[]
  /** The layers Docker sent, uncompressed (their sha256 is their diff ID), by diff ID. */
  sent: Map<string, {file: string; size: number}>
}

export interface PushOptions {
  signal?: AbortSignal
  /**
   * Whether the registry should say it has the layer Docker asks about (by the compressed digest Docker
   * pushed it as before), so that Docker does not send it. Without it, yes to every layer.
   */
  has?(digest: string): Promise<boolean>
  /**
   * Compressed bytes a push may upload before kudev takes the save instead: past this Docker is compressing
   * a layer it has never pushed (a big one, the first time), and a save is faster.
   */
  maxBytes?: number
}

/** A push under way. */
export interface LoopbackPush {
  /**
   * What Docker handed over. Rejects when the push fails, or once it passes `maxBytes`: then it goes on
   * to its end keeping nothing, so that Docker remembers its layers as pushed and the next push of an
   * edit of this image hands over only the new ones.
   */
  handed: Promise<PushedImage>
  /** Settles when the push has ended, its tag removed and the registry stopped: why it failed, if it did. */
  finished: Promise<string | undefined>
  /** True once `finished` has settled. */
  ended: boolean
  /** The layers of the manifest Docker pushed (compressed digests, in the config's diff ID order), once it did. */
  manifestLayers?: string[]
}

/** Compressed uploads past 16 MiB mean a layer Docker has never pushed (a dependency layer): the save is faster. */
const MAX_BYTES = 16 << 20

/**
 * Pushes `image` (by ID) to a registry kudev runs on 127.0.0.1 for this push; the layers Docker hands over
 * land in `dir`. The loopback tag is removed and the registry stopped however the push ends.
 */
export function startLoopbackPush(
  toolkit: BaseToolkit,
  image: {id: string},
  dir: string,
  options: PushOptions = {},
): LoopbackPush {
  let handOver!: {resolve: (image: PushedImage) => void; reject: (error: Error) => void}
  const handed = new Promise<PushedImage>((resolve, reject) => (handOver = {reject, resolve}))
  handed.catch(() => {})
  const registry = new LoopbackRegistry(
    image.id,
    dir,
    options.maxBytes ?? MAX_BYTES,
    (error) => handOver.reject(error),
    options.has ?? (() => Promise.resolve(true)),
  )
  const push = async () => {
    const port = await registry.listen()
    const ref = `127.0.0.1:${port}/kudev/load:${image.id.replace(/^sha256:/, '').slice(0, 12)}`
    try {
      await docker(toolkit, ['tag', image.id, ref], `tag ${image.id} for a push to kudev's loopback registry`)
      try {
        await docker(toolkit, ['push', ref], `push ${image.id} to kudev's loopback registry`, {
          signal: options.signal,
        })
      } finally {
        await docker(toolkit, ['image', 'rm', ref], `remove the tag ${ref}`, {accept: () => true})
      }

      started.manifestLayers = registry.manifestLayers()
      if (registry.overLimit === undefined) handOver.resolve(await registry.result())
    } finally {
      await registry.close()
    }
  }

  const started: LoopbackPush = {
    ended: false,
    finished: push().then(
      () => undefined,
      (error: Error) => {
        handOver.reject(error)
        return error.message
      },
    ),
    handed,
  }
  started.finished.finally(() => (started.ended = true)).catch(() => {})
  return started
}

interface Upload {
  file: string
  bytes: number
  hash: ReturnType<typeof createHash>
  /** Undefined once the push only primes Docker. */
  out?: WriteStream
  failed?: Error
}

class LoopbackRegistry {
  overLimit: Error | undefined
  private readonly server: Server
  private readonly uploads = new Map<string, Upload>()
  /** Compressed blobs received, by digest: their file and size. */
  private readonly blobs = new Map<string, {file: string; size: number}>()
  /** Blobs received once the push only primed Docker: not kept, but there when Docker asks. */
  private readonly dropped = new Set<string>()
  private manifest: Buffer | undefined
  private uploaded = 0
  private count = 0

  constructor(
    private readonly configDigest: string,
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly onOverLimit: (error: Error) => void,
    private readonly has: (digest: string) => Promise<boolean>,
  ) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(500)
        response.end(error.message)
      })
    })
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port))
    })
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
    this.dropUploads()
  }

  /** Closes every upload's file; a receive under way then drops what follows. */
  private dropUploads(): void {
    for (const upload of this.uploads.values()) {
      upload.out?.destroy()
      upload.out = undefined
    }
  }

  /** The layer digests of the manifest Docker pushed; undefined before it did, or when it is not one kudev reads. */
  manifestLayers(): string[] | undefined {
    try {
      const layers = (JSON.parse(this.manifest?.toString('utf8') ?? 'null') as {layers?: {digest?: unknown}[]} | null)
        ?.layers
      const digests = layers?.map((layer) => layer.digest)
      return digests?.every((digest): digest is string => typeof digest === 'string') ? digests : undefined
    } catch {
      return undefined
    }
  }

  /** The config, its diff IDs and the layers received, each checked against its digest and diff ID. */
  async result(): Promise<PushedImage> {
    const config = this.blobs.get(this.configDigest)
    if (this.manifest === undefined || config === undefined)
      throw new Error('docker push ended without sending the manifest and the config')
    const content = await readFile(config.file)
    const diffIds = (JSON.parse(content.toString('utf8')) as {rootfs?: {diff_ids?: string[]}}).rootfs?.diff_ids ?? []
    const sent = new Map<string, {file: string; size: number}>()
    for (const [digest, blob] of this.blobs) {
      if (digest === this.configDigest) continue
      const layer = await uncompressed(blob.file, path.join(this.dir, `layer-${++this.count}.tar`))
      if (!diffIds.includes(layer.diffId))
        throw new Error(`docker push sent a layer (${digest}, diff ID ${layer.diffId}) the image config does not name`)
      sent.set(layer.diffId, {file: layer.file, size: layer.size})
      await rm(blob.file, {force: true})
    }

    return {config: content, configDigest: this.configDigest, diffIds, dir: this.dir, sent}
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const route = url.pathname
    const method = request.method ?? 'GET'
    let match: RegExpExecArray | null
    if (route === '/v2/') return answer(response, 200, {'Docker-Distribution-API-Version': 'registry/2.0'}, '{}')

    if ((match = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(route)) && (method === 'HEAD' || method === 'GET')) {
      const digest = match[2]!
      const received = this.blobs.get(digest)
      // Docker asks about a layer it pushed or pulled before, by the digest it had then: yes when the nodes
      // hold it. The config it always sends (its digest is the image ID, which the push must deliver).
      const held =
        received !== undefined ||
        this.dropped.has(digest) ||
        (digest !== this.configDigest && (await this.has(digest).catch(() => false)))
      if (!held) return answer(response, 404)
      const size = String(received?.size ?? 0)
      return answer(response, 200, {'Content-Length': size, 'Docker-Content-Digest': digest})
    }

    if ((match = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(route)) && method === 'POST') {
      // A cross-repository mount is refused the same way: Docker then uploads.
      const id = `u${++this.count}`
      const file = path.join(this.dir, `upload-${id}`)
      const upload: Upload = {bytes: 0, file, hash: createHash('sha256')}
      if (!this.overLimit) {
        upload.out = createWriteStream(file)
        // A full disk: the upload fails when Docker finishes it, and with it the push.
        upload.out.on('error', (error) => (upload.failed ??= error))
      }
      this.uploads.set(id, upload)
      await drain(request)
      return answer(response, 202, uploadHeaders(match[1]!, id, 0))
    }

    if ((match = /^\/v2\/(.+)\/blobs\/uploads\/(u\d+)$/.exec(route)) && (method === 'PATCH' || method === 'PUT')) {
      const [, name, id] = match as unknown as [string, string, string]
      const upload = this.uploads.get(id)
      if (upload === undefined) return answer(response, 404)
      await this.receive(request, upload)
      if (method === 'PATCH') return answer(response, 202, uploadHeaders(name, id, upload.bytes))
      const claimed = url.searchParams.get('digest') ?? ''
      this.uploads.delete(id)
      const {out} = upload
      if (this.overLimit || out === undefined) {
        this.dropped.add(claimed)
        return answer(response, 201, {'Docker-Content-Digest': claimed})
      }
      await new Promise<void>((resolve) => out.end(() => resolve()))
      if (upload.failed) return answer(response, 500, {}, upload.failed.message)
      const digest = `sha256:${upload.hash.digest('hex')}`
      if (digest !== claimed) return answer(response, 400, {}, 'digest mismatch')
      this.blobs.set(digest, {file: upload.file, size: upload.bytes})
      return answer(response, 201, {'Docker-Content-Digest': digest, Location: `/v2/${name}/blobs/${digest}`})
    }

    if (/^\/v2\/(.+)\/manifests\/([^/]+)$/.test(route) && method === 'PUT') {
      const chunks: Buffer[] = []
      for await (const chunk of request) chunks.push(chunk as Buffer)
      this.manifest = Buffer.concat(chunks)
      const digest = `sha256:${createHash('sha256').update(this.manifest).digest('hex')}`
      return answer(response, 201, {'Docker-Content-Digest': digest, Location: route})
    }

    await drain(request)
    return answer(response, 404)
  }

  /** Writes the request body into the upload, stopping the push once it passes the byte limit. */
  private async receive(request: IncomingMessage, upload: Upload): Promise<void> {
    for await (const chunk of request) {
      const bytes = chunk as Buffer
      upload.bytes += bytes.length
      this.uploaded += bytes.length
      if (this.uploaded > this.maxBytes && this.overLimit === undefined) await this.passLimit()
      const {out} = upload
      if (this.overLimit || out === undefined) continue
      upload.hash.update(bytes)
      if (!out.write(bytes)) await writable(out)
    }
  }

  /** From here on the push only primes Docker: what it sends is dropped, and what it sent is deleted. */
  private async passLimit(): Promise<void> {
    this.overLimit = new Error(
      `docker push would upload more than ${this.maxBytes} bytes: a layer Docker has never pushed`,
    )
    this.onOverLimit(this.overLimit)
    const files = [...this.uploads.values(), ...this.blobs.values()].map((each) => each.file)
    this.dropUploads()
    this.blobs.clear()
    await Promise.all(files.map((file) => rm(file, {force: true})))
  }
}

/** Until `out` takes more, or is closed (the push went past its limit meanwhile). */
function writable(out: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.once('drain', done)
    out.once('close', done)
  })
}

function uploadHeaders(name: string, id: string, bytes: number): Record<string, string> {
  return {
    'Docker-Upload-UUID': id,
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: `0-${Math.max(bytes - 1, 0)}`,
  }
}

function answer(response: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  response.writeHead(status, {'Content-Length': String(Buffer.byteLength(body)), ...headers})
  response.end(body)
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const chunk of request) void chunk
}

/** Gunzips `file` into `target`: the layer tar, its size and its sha256 (the diff ID). */
async function uncompressed(file: string, target: string): Promise<{diffId: string; file: string; size: number}> {
  const hash = createHash('sha256')
  let size = 0
  const out = createWriteStream(target)
  await pipeline(
    createReadStream(file),
    createGunzip(),
    async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
        yield chunk
      }
    },
    out,
  )
  return {diffId: `sha256:${hash.digest('hex')}`, file: target, size}
}
