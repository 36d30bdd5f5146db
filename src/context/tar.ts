import {open} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'

import {KudevError} from '../output/errors.js'

/** One entry of the build context as the builder receives it. */
export interface TarEntry {
  /** POSIX path relative to the context root. */
  path: string
  type: 'file' | 'dir' | 'symlink'
  mode: number
  size: number
  /** When hashed; the file is refused if it no longer matches, so an image never holds what was not hashed. */
  mtimeNs?: bigint
  linkTarget?: string
  /** Where to read the content from, when not at `<root>/<path>` (a Dockerfile outside the context). */
  source?: string
  /** The content itself, for an entry kudev writes (a .dockerignore naming the shipped Dockerfile). */
  content?: Buffer
}

const BLOCK = 512
const CHUNK = 1 << 20

/**
 * Thrown when a file differs from what was hashed (edited between hashing and sending); the pipeline
 * hashes again and rebuilds rather than tag an image with a hash of other content.
 */
export class ContextChangedError extends KudevError {
  constructor(file: string, what: string) {
    super('build', `${file} changed while it was being sent to the builder (${what})`, {
      data: {changed: file},
      hint: 'kudev hashes the context again and rebuilds; if this repeats, stop whatever keeps writing to the file',
    })
  }
}

export function isContextChanged(error: unknown): boolean {
  return error instanceof Error && typeof (error as KudevError).data?.changed === 'string'
}

/**
 * The entries as an uncompressed tar stream (ustar, with PAX records for long or non-ASCII names and big
 * files), read lazily with backpressure. Owners are 0, as `docker build` sends them.
 */
export function tarContext(root: string, entries: Iterable<TarEntry>): Readable {
  return Readable.from(tarBlocks(root, entries), {objectMode: false})
}

async function* tarBlocks(root: string, entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path
    const mtimeSeconds = entry.mtimeNs === undefined ? 0 : Number(entry.mtimeNs / 1_000_000_000n)
    const size = entry.type === 'file' ? entry.size : 0
    yield* header({linkTarget: entry.linkTarget, mode: entry.mode, mtimeSeconds, name, size, type: entry.type})
    if (entry.type === 'file' && entry.content)
      yield* [entry.content, Buffer.alloc((BLOCK - (entry.size % BLOCK)) % BLOCK)]
    else if (entry.type === 'file') yield* fileBlocks(entry.source ?? path.join(root, entry.path), entry)
  }

  yield Buffer.alloc(BLOCK * 2)
}

async function* fileBlocks(file: string, entry: TarEntry): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new ContextChangedError(file, 'it was deleted')
    throw new KudevError('build', `cannot read ${file} (${error.code ?? error.message})`, {
      hint: 'check that the file is readable by the current user',
    })
  })
  try {
    const before = await handle.stat({bigint: true})
    checkUnchanged(file, entry, before.size, before.mtimeNs)
    let sent = 0
    while (sent < entry.size) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, entry.size - sent))
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, sent)
      if (bytesRead === 0) throw new ContextChangedError(file, 'it became shorter')
      sent += bytesRead
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead)
    }

    const after = await handle.stat({bigint: true})
    checkUnchanged(file, entry, after.size, after.mtimeNs)
    const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK
    if (padding > 0) yield Buffer.alloc(padding)
  } finally {
    await handle.close()
  }
}

function checkUnchanged(file: string, entry: TarEntry, size: bigint, mtimeNs: bigint): void {
  if (size !== BigInt(entry.size)) throw new ContextChangedError(file, `size ${entry.size} → ${size}`)
  if (entry.mtimeNs !== undefined && mtimeNs !== entry.mtimeNs)
    throw new ContextChangedError(file, 'modification time moved')
}

interface Header {
  name: string
  type: TarEntry['type']
  mode: number
  size: number
  mtimeSeconds: number
  linkTarget?: string
}

const TYPE_FLAG = {dir: '5', file: '0', symlink: '2'} as const

function* header(entry: Header): Generator<Buffer> {
  const pax: Record<string, string> = {}
  let name = entry.name
  let prefix = ''
  if (!fitsUstar(name, 100)) {
    const split = splitName(name)
    if (split) [prefix, name] = split
    else {
      pax.path = entry.name
      name = asciiStub(entry.name, 100)
    }
  }

  let linkname = entry.linkTarget ?? ''
  if (!fitsUstar(linkname, 100)) {
    pax.linkpath = linkname
    linkname = asciiStub(linkname, 100)
  }

  // Octal size fields hold up to 8 GiB; bigger files carry their size in a PAX record.
  const bigFile = entry.size >= 8 * 1024 ** 3
  if (bigFile) pax.size = String(entry.size)
  if (Object.keys(pax).length > 0) {
    const body = Buffer.from(
      Object.entries(pax)
        .map(([key, value]) => paxRecord(key, value))
        .join(''),
      'utf8',
    )
    yield ustar({
      linkname: '',
      mode: 0o644,
      mtimeSeconds: entry.mtimeSeconds,
      name: asciiStub(`PaxHeaders/${entry.name}`, 100),
      prefix: '',
      size: body.length,
      typeflag: 'x',
    })
    yield body
    const padding = (BLOCK - (body.length % BLOCK)) % BLOCK
    if (padding > 0) yield Buffer.alloc(padding)
  }

  yield ustar({
    linkname,
    mode: entry.mode,
    mtimeSeconds: entry.mtimeSeconds,
    name,
    prefix,
    size: bigFile ? 0 : entry.size,
    typeflag: TYPE_FLAG[entry.type],
  })
}

function ustar(fields: {
  name: string
  prefix: string
  mode: number
  size: number
  mtimeSeconds: number
  typeflag: string
  linkname: string
}): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(fields.name, 0, 100, 'utf8')
  block.write(octal(fields.mode & 0o7777, 8), 100, 'ascii')
  block.write(octal(0, 8), 108, 'ascii')
  block.write(octal(0, 8), 116, 'ascii')
  block.write(octal(fields.size, 12), 124, 'ascii')
  block.write(octal(Math.max(0, fields.mtimeSeconds), 12), 136, 'ascii')
  block.write('        ', 148, 'ascii')
  block.write(fields.typeflag, 156, 'ascii')
  block.write(fields.linkname, 157, 100, 'utf8')
  block.write('ustar\u000000', 257, 'ascii')
  block.write(fields.prefix, 345, 155, 'utf8')
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii')
  return block
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\u0000`
}

/** PAX records count their own length, digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bytes = Buffer.byteLength(body)
  let length = bytes + String(bytes).length
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length
  return `${length}${body}`
}

function fitsUstar(text: string, max: number): boolean {
  // eslint-disable-next-line no-control-regex
  return text.length <= max && /^[\u0001-\u007F]*$/.test(text)
}

/** ustar's prefix field holds up to 155 more bytes of a long path, split at a slash. */
function splitName(name: string): [string, string] | undefined {
  // eslint-disable-next-line no-control-regex
  if (!/^[\u0001-\u007F]*$/.test(name) || name.length > 256) return undefined
  for (let cut = name.indexOf('/'); cut !== -1; cut = name.indexOf('/', cut + 1)) {
    const prefix = name.slice(0, cut)
    const rest = name.slice(cut + 1)
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return [prefix, rest]
  }

  return undefined
}

function asciiStub(text: string, max: number): string {
  return text.replaceAll(/[^\u0020-\u007E]/g, '_').slice(-max)
}
