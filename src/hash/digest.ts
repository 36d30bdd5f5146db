/**
 * The digest behind the tag: sha256 over the build inputs and the context digest. The context digest is a
 * Merkle tree over the context as `COPY . /dst` sees it: each folder's digest covers its entries, and a
 * subfolder enters its parent by its own digest, so a change re-digests only the folders above it.
 * Everything that can change the image is in it, nothing else:
 *
 *   str("kudev build inputs") u32(format)
 *   str(Dockerfile path) sha256(Dockerfile)
 *   u8(0) for kudev's default exclusions | u8(1) str(ignore file path) sha256(ignore file)
 *   u32(n) str(exclusion)…                          spec.buildContextExclusions, in order
 *   u32(n) (str(name) str(value))…                  build args, sorted by name
 *   opt(target) opt(platform)                       opt = u8(0) | u8(1) str
 *   context digest (32 bytes) = folder digest of the context root
 *
 *   folder digest = sha256 of, per entry in the context, siblings by name:
 *     u8(type) str(name) u32(mode & 0o7777), then sha256(content) for a file, str(target) for a symlink,
 *     the folder digest for a folder
 *   and u8(0) at the end.
 *
 * A folder is in the context when it is not excluded (even empty), or when it is excluded but a `!` rule
 * brings back something below it (src/context/walk.ts). str = u32 byte length + UTF-8, so no two inputs
 * frame to the same bytes (`ab`+`c` ≠ `a`+`bc`); all integers big-endian. The Dockerfile's path is relative
 * to the context root, even outside it (`../docker/Dockerfile`): an absolute path would give the same
 * checkout two tags in two folders, and only the relative layout can change the build. Owners, mtimes and
 * link topology never reach the image's content (Docker resets owners to 0) and are left out.
 */
import {createHash, type Hash} from 'node:crypto'

import type {Entry} from '../context/entries.js'

/** Bump when the framing or what goes into it changes: every tag changes with it. */
export const DIGEST_FORMAT = 3

export interface BuildInputs {
  /** POSIX, relative to the context root. */
  dockerfilePath: string
  dockerfile: Uint8Array
  /** The ignore file used (path relative to the context root), or undefined when kudev's defaults applied. */
  ignoreFile?: {path: string; bytes: Uint8Array}
  exclusions: readonly string[]
  /** Resolved: spec.buildArgs with the command line's on top. */
  buildArgs: Readonly<Record<string, string>>
  target?: string
  platform?: string
}

const TYPE_CODE = {dir: 2, file: 1, symlink: 3} as const
const SHA256_BYTES = 32
/**
 * Framing buffers: one for the build digest; one per open folder digest (a context has thousands), small
 * enough to come from Node's shared pool instead of an allocation each.
 */
const BUILD_BUFFER_BYTES = 1 << 16
const FOLDER_BUFFER_BYTES = 2048

/** The digest of the build: the inputs, then the context digest (ContextDigest.finish()). */
export function buildDigest(inputs: BuildInputs, contextDigest: Uint8Array): string {
  const framing = new Framing(BUILD_BUFFER_BYTES)
  framing.string('kudev build inputs')
  framing.u32(DIGEST_FORMAT)
  framing.string(inputs.dockerfilePath)
  framing.bytes(sha256(inputs.dockerfile))
  if (inputs.ignoreFile === undefined) framing.u8(0)
  else {
    framing.u8(1)
    framing.string(inputs.ignoreFile.path)
    framing.bytes(sha256(inputs.ignoreFile.bytes))
  }

  framing.u32(inputs.exclusions.length)
  for (const pattern of inputs.exclusions) framing.string(pattern)
  const args = Object.keys(inputs.buildArgs).sort()
  framing.u32(args.length)
  for (const name of args) {
    framing.string(name)
    framing.string(inputs.buildArgs[name]!)
  }

  framing.optional(inputs.target)
  framing.optional(inputs.platform)
  framing.bytes(contextDigest)
  return framing.finish().toString('hex')
}

/** One folder's digest: feed its entries in the context, siblings by name, with add(), then finish(). */
export class FolderDigest {
  readonly #framing = new Framing(FOLDER_BUFFER_BYTES)

  /**
   * One entry: a file's content sha256 is the 32 bytes of `bytes` at `offset`; a folder's digest is
   * `bytes` (its finish()).
   */
  add(entry: Entry, bytes?: Uint8Array, offset = 0): void {
    const framing = this.#framing
    framing.u8(TYPE_CODE[entry.type])
    framing.string(entry.path.slice(entry.path.lastIndexOf('/') + 1))
    framing.u32(entry.mode & 0o7777)
    if (entry.type === 'symlink') framing.string(entry.linkTarget ?? '')
    else if (bytes === undefined)
      throw new Error(`no ${entry.type === 'file' ? 'content hash' : 'folder digest'} for ${entry.path}`)
    else framing.bytes(bytes.subarray(offset, offset + SHA256_BYTES))
  }

  /** The folder digest, 32 bytes. */
  finish(): Buffer {
    this.#framing.u8(0)
    return this.#framing.finish()
  }
}

/** The framing primitives, buffered into one sha256. */
class Framing {
  readonly #hash: Hash = createHash('sha256')
  readonly #buffer: Buffer
  #length = 0

  constructor(bufferBytes: number) {
    this.#buffer = Buffer.allocUnsafe(bufferBytes)
  }

  finish(): Buffer {
    this.#hash.update(this.#buffer.subarray(0, this.#length))
    return this.#hash.digest()
  }

  u8(value: number): void {
    this.#room(1)
    this.#buffer[this.#length++] = value
  }

  u32(value: number): void {
    this.#room(4)
    this.#length = this.#buffer.writeUInt32BE(value, this.#length)
  }

  bytes(bytes: Uint8Array): void {
    if (bytes.length > this.#buffer.length) {
      this.#room(this.#buffer.length)
      this.#hash.update(bytes)
      return
    }

    this.#room(bytes.length)
    this.#buffer.set(bytes, this.#length)
    this.#length += bytes.length
  }

  string(text: string): void {
    const bytes = Buffer.byteLength(text)
    this.u32(bytes)
    if (bytes > this.#buffer.length) {
      this.bytes(Buffer.from(text))
      return
    }

    this.#room(bytes)
    this.#length += this.#buffer.write(text, this.#length, 'utf8')
  }

  optional(text: string | undefined): void {
    if (text === undefined) this.u8(0)
    else {
      this.u8(1)
      this.string(text)
    }
  }

  #room(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return
    this.#hash.update(this.#buffer.subarray(0, this.#length))
    this.#length = 0
  }
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}
