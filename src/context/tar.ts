import {open} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'

import {KudevError} from '../output/errors.js'
import {END_OF_ARCHIVE, padding, tarHeader} from '../util/tar.js'

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
    yield* tarHeader({linkTarget: entry.linkTarget, mode: entry.mode, mtimeSeconds, name, size, type: entry.type})
    if (entry.type === 'file' && entry.content) yield* [entry.content, padding(entry.size)]
    else if (entry.type === 'file') yield* fileBlocks(entry.source ?? path.join(root, entry.path), entry)
  }

  yield END_OF_ARCHIVE
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
    yield padding(entry.size)
  } finally {
    await handle.close()
  }
}

function checkUnchanged(file: string, entry: TarEntry, size: bigint, mtimeNs: bigint): void {
  if (size !== BigInt(entry.size)) throw new ContextChangedError(file, `size ${entry.size} → ${size}`)
  if (entry.mtimeNs !== undefined && mtimeNs !== entry.mtimeNs)
    throw new ContextChangedError(file, 'modification time moved')
}
