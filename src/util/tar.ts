/**
 * The tar format as kudev reads and writes it: ustar headers with PAX records (what Go's archive/tar, and
 * so docker, writes and reads).
 */
import {open} from 'node:fs/promises'

export const BLOCK = 512
/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2)

/** The zeros that pad an entry's `size` bytes of content to a whole block (empty when none are needed). */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)
}

export interface TarHeader {
  name: string
  type: 'file' | 'dir' | 'symlink'
  mode: number
  size: number
  mtimeSeconds: number
  linkTarget?: string
}

const TYPE_FLAG = {dir: '5', file: '0', symlink: '2'} as const

/** One entry's header blocks: ustar, preceded by a PAX record for a long or non-ASCII name or a size ≥ 8 GiB. */
export function* tarHeader(entry: TarHeader): Generator<Buffer> {
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
    yield padding(body.length)
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

/** One entry of an archive on disk: where its content starts and how long it is. */
export interface TarIndexEntry {
  name: string
  /** The typeflag: '0' file, '1' hard link, '2' symlink, '5' folder, … */
  type: string
  size: number
  /** Byte offset of the content in the archive file. */
  offset: number
  linkname: string
}

/**
 * The entries of a tar file, read header by header (content is skipped, not read), so an archive of many
 * GB is indexed in a few reads. Follows PAX records and GNU long names as Go's archive/tar writes them.
 * Throws a plain Error naming the offset when the file is not a tar archive or ends early.
 */
export async function readTarIndex(file: string): Promise<TarIndexEntry[]> {
  const handle = await open(file, 'r')
  try {
    const {size: fileSize} = await handle.stat()
    const entries: TarIndexEntry[] = []
    const block = Buffer.alloc(BLOCK)
    let next: Partial<Pick<TarIndexEntry, 'linkname' | 'name' | 'size'>> = {}
    let position = 0
    for (;;) {
      const {bytesRead} = await handle.read(block, 0, BLOCK, position)
      if (bytesRead < BLOCK)
        throw new Error(
          position === 0
            ? `${file} is not a tar archive (${fileSize} bytes)`
            : `${file} ends inside a tar header at byte ${position}`,
        )
      if (block.every((byte) => byte === 0)) return entries
      if (checksum(block) !== Number.parseInt(field(block, 148, 8) || 'NaN', 8))
        throw new Error(`${file} is not a tar archive (bad header checksum at byte ${position})`)
      const type = String.fromCodePoint(block[156]!) === '\u0000' ? '0' : String.fromCodePoint(block[156]!)
      const size = next.size ?? numeric(block.subarray(124, 136))
      const offset = position + BLOCK
      position = offset + size + padding(size).length
      if (position > fileSize) throw new Error(`${file} ends inside the content of an entry at byte ${offset}`)
      if (type === 'x' || type === 'L' || type === 'K') {
        const body = Buffer.alloc(size)
        await handle.read(body, 0, size, offset)
        if (type === 'x') next = {...next, ...paxFields(body)}
        else next[type === 'L' ? 'name' : 'linkname'] = body.toString('utf8').replace(/\0+$/, '')
        continue
      }

      if (type === 'g') continue
      // POSIX ustar keeps a name prefix at 345; GNU's 'ustar  ' header keeps access and change times there.
      const prefix = block.subarray(257, 263).toString('latin1') === 'ustar\u0000' ? field(block, 345, 155) : ''
      const name = next.name ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100))
      entries.push({linkname: next.linkname ?? field(block, 157, 100), name, offset, size, type})
      next = {}
    }
  } finally {
    await handle.close()
  }
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length)
  const end = raw.indexOf(0)
  return raw
    .subarray(0, end === -1 ? length : end)
    .toString('utf8')
    .trim()
}

/** Octal, or base-256 when the high bit of the first byte is set (GNU's form for sizes ≥ 8 GiB). */
function numeric(raw: Buffer): number {
  if ((raw[0]! & 0x80) === 0) return Number.parseInt(field(raw, 0, raw.length) || '0', 8)
  let value = raw[0]! & 0x7f
  for (const byte of raw.subarray(1)) value = value * 256 + byte
  return value
}

function checksum(block: Buffer): number {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  return sum
}

/** A PAX body's `path`, `linkpath` and `size` records ("<length> <key>=<value>\n" each). */
function paxFields(body: Buffer): Partial<Pick<TarIndexEntry, 'linkname' | 'name' | 'size'>> {
  const fields: Partial<Pick<TarIndexEntry, 'linkname' | 'name' | 'size'>> = {}
  let at = 0
  while (at < body.length) {
    const space = body.indexOf(0x20, at)
    const length = Number.parseInt(body.toString('ascii', at, space), 10)
    if (space === -1 || !(length > 0)) break
    const record = body.toString('utf8', space + 1, at + length - 1)
    const equals = record.indexOf('=')
    const [key, value] = [record.slice(0, equals), record.slice(equals + 1)]
    if (key === 'path') fields.name = value
    else if (key === 'linkpath') fields.linkname = value
    else if (key === 'size') fields.size = Number(value)
    at += length
  }

  return fields
}
