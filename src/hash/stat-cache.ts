/**
 * The stat cache: per build context, what each file's content hash was when its size, mtime, ctime,
 * inode and mode were what they are, so an unchanged tree is stat'ed and never read.
 *
 * One binary file per context (a JSON file of 100,000 paths takes longer to parse than the walk it saves):
 *
 *   header  "KUDEVSTC" | u32 version | u32 crc32(rest of the file) | u64 body bytes | u32 folders | u32 records
 *   body    per folder: u32 path bytes | path | u32 records | u32 record bytes | records
 *           per record: u16 name bytes | name | f64 size | i64 mtimeNs | i64 ctimeNs | u64 ino | u32 mode | sha256
 *
 * All little-endian. A file with another magic or version, a wrong length or checksum is ignored and
 * rebuilt, never trusted. Writes go to a temp file of this process and are renamed over the cache, so
 * concurrent runs each leave a whole cache (the last one wins) and a crash never leaves half of one.
 */
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {crc32} from 'node:zlib'

import type {Entry} from '../context/entries.js'

const MAGIC = 'KUDEVSTC'
export const STAT_CACHE_VERSION = 1
const HEADER_BYTES = 32
const RECORD_FIXED_BYTES = 8 + 8 + 8 + 8 + 4 + 32
/**
 * git's "racy" rule, against the start of the walk: a file modified within this window may change again
 * without its mtime moving (coarse kernel clocks, 2 s on FAT), so it is not recorded and is hashed again
 * next time. Also covers a filesystem clock a little behind this machine's.
 */
export const RACY_WINDOW_NS = 2_000_000_000n

/** `KUDEV_CACHE_DIR`, else `$XDG_CACHE_HOME/kudev`, else `$HOME/.cache/kudev`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUDEV_CACHE_DIR) return path.resolve(env.KUDEV_CACHE_DIR)
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'kudev')
  return path.join(env.HOME || homedir(), '.cache', 'kudev')
}

/** The cache file of one context: named after a hash of the context's absolute path. */
export function statCacheFile(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'stat', `${cacheKey(contextRoot)}.bin`)
}

/** A context's name in the cache folders: a hash of its absolute path. */
export function cacheKey(contextRoot: string): string {
  return createHash('sha256').update(path.resolve(contextRoot)).digest('hex').slice(0, 32)
}

/** A folder's records: file name → offset of its record. */
export type FolderRecords = Map<string, number>

export class StatCache {
  readonly #body: Buffer
  readonly #folders = new Map<string, [start: number, count: number]>()

  /** `bytes` must have passed verifyStatCache (or come from a thread that checked it). */
  constructor(bytes: Uint8Array) {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#body = data.subarray(HEADER_BYTES)
    const folders = data.readUInt32LE(24)
    let offset = 0
    for (let index = 0; index < folders; index++) {
      const pathBytes = this.#body.readUInt32LE(offset)
      const folder = this.#body.toString('utf8', offset + 4, offset + 4 + pathBytes)
      offset += 4 + pathBytes
      const count = this.#body.readUInt32LE(offset)
      const recordBytes = this.#body.readUInt32LE(offset + 4)
      this.#folders.set(folder, [offset + 8, count])
      offset += 8 + recordBytes
    }
  }

  folder(folderPath: string): FolderRecords | undefined {
    const location = this.#folders.get(folderPath)
    if (location === undefined) return undefined
    const records: FolderRecords = new Map()
    let [offset, count] = location
    for (; count > 0; count--) {
      const nameBytes = this.#body.readUInt16LE(offset)
      records.set(this.#body.toString('utf8', offset + 2, offset + 2 + nameBytes), offset + 2 + nameBytes)
      offset += 2 + nameBytes + RECORD_FIXED_BYTES
    }

    return records
  }

  /** The recorded content hash when every recorded stat field still matches, else undefined. */
  lookup(records: FolderRecords, name: string, entry: Entry): Buffer | undefined {
    const offset = records.get(name)
    if (offset === undefined) return undefined
    const body = this.#body
    if (body.readDoubleLE(offset) !== entry.size || body.readBigInt64LE(offset + 8) !== entry.mtimeNs ||
      body.readBigInt64LE(offset + 16) !== entry.ctimeNs || body.readBigUInt64LE(offset + 24) !== entry.ino ||
      body.readUInt32LE(offset + 32) !== entry.mode) return undefined
    return body.subarray(offset + 36, offset + 68)
  }
}

/**
 * Reads a cache file into shared memory (worker threads use it without a copy) and checks it. Gives the
 * reason when there is no usable cache; the caller then hashes everything and writes a new one.
 */
export function readStatCache(file: string): {bytes: Uint8Array} | {problem: string} {
  return readVerified(file, MAGIC, STAT_CACHE_VERSION, HEADER_BYTES)
}

/**
 * Reads a cache file (stat cache, tree snapshot) into shared memory and checks its common header: magic,
 * version, u32 crc32 of the rest, u64 body length.
 */
export function readVerified(file: string, magic: string, version: number, headerBytes: number): {bytes: Uint8Array} | {problem: string} {
  let bytes: Uint8Array
  try {
    const fd = openSync(file, 'r')
    try {
      bytes = new Uint8Array(new SharedArrayBuffer(fstatSync(fd).size))
      let read = 0
      for (let chunk = 1; chunk > 0 && read < bytes.length; read += chunk) chunk = readSync(fd, bytes, read, bytes.length - read, null)
    } finally {
      closeSync(fd)
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return {problem: code === 'ENOENT' ? 'none yet' : `unreadable (${code ?? String(error)})`}
  }

  const problem = verify(bytes, magic, version, headerBytes)
  return problem === undefined ? {bytes} : {problem}
}

/** Why these bytes are not a cache this kudev can trust, or undefined when they are one. */
export function verifyStatCache(bytes: Uint8Array): string | undefined {
  return verify(bytes, MAGIC, STAT_CACHE_VERSION, HEADER_BYTES)
}

function verify(bytes: Uint8Array, magic: string, expected: number, headerBytes: number): string | undefined {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (data.length < headerBytes || data.toString('latin1', 0, 8) !== magic) return `not a kudev ${magic === MAGIC ? 'stat cache' : 'tree snapshot'}`
  const version = data.readUInt32LE(8)
  if (version !== expected) return `version ${version}, this kudev writes ${expected}`
  if (data.readBigUInt64LE(16) !== BigInt(data.length - headerBytes)) return 'truncated'
  if (crc32(data.subarray(16)) !== data.readUInt32LE(12)) return 'checksum mismatch'
  return undefined
}

/**
 * mkdir -p without `{recursive: true}`, which loops forever on Node 20 where a parent exists but refuses
 * new entries (KUDEV_CACHE_DIR under /proc).
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw error
    makeFolder(path.dirname(dir))
    mkdirSync(dir)
  }
}

/** Temp file of this process + rename: readers see the old file or the new one, never a mix. */
export function writeAtomically(file: string, bytes: Uint8Array): void {
  makeFolder(path.dirname(file))
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temp, bytes)
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, {force: true})
    throw error
  }
}

/** How many files a verified cache records. */
export function statCacheRecords(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(28)
}

/** Builds a new cache in memory, folder by folder, and saves it atomically. */
export class StatCacheWriter {
  #data = Buffer.allocUnsafe(1 << 20)
  #length = HEADER_BYTES
  #folders = 0
  #records = 0
  #folderStart = -1
  #folderRecords = 0
  readonly #racyFrom: bigint

  /** `walkStartedNs`: wall-clock time (ns since the epoch) when the walk began. */
  constructor(walkStartedNs: bigint) {
    this.#racyFrom = walkStartedNs - RACY_WINDOW_NS
  }

  folder(folderPath: string): void {
    this.#endFolder()
    this.#writeString(folderPath, 4)
    this.#folderStart = this.#length
    this.#ensure(8)
    this.#length += 8
    this.#folderRecords = 0
    this.#folders++
  }

  /** Records a file's stat and hash (32 bytes of `hashes` at `offset`), unless its mtime is too recent to trust next time (the racy rule). */
  record(name: string, entry: Entry, hashes: Uint8Array, offset = 0): void {
    if (entry.mtimeNs >= this.#racyFrom) return
    this.#writeString(name, 2)
    this.#ensure(RECORD_FIXED_BYTES)
    const data = this.#data
    let at = this.#length
    at = data.writeDoubleLE(entry.size, at)
    at = data.writeBigInt64LE(entry.mtimeNs, at)
    at = data.writeBigInt64LE(entry.ctimeNs, at)
    at = data.writeBigUInt64LE(entry.ino, at)
    at = data.writeUInt32LE(entry.mode, at)
    data.set(hashes.subarray(offset, offset + 32), at)
    this.#length = at + 32
    this.#folderRecords++
    this.#records++
  }

  /** The finished cache file's bytes. */
  bytes(): Buffer {
    this.#endFolder()
    const data = this.#data.subarray(0, this.#length)
    data.write(MAGIC, 0, 'latin1')
    data.writeUInt32LE(STAT_CACHE_VERSION, 8)
    data.writeBigUInt64LE(BigInt(this.#length - HEADER_BYTES), 16)
    data.writeUInt32LE(this.#folders, 24)
    data.writeUInt32LE(this.#records, 28)
    data.writeUInt32LE(crc32(data.subarray(16)), 12)
    return data
  }

  /** Temp file + rename: readers see the old cache or the new one, never a mix. */
  save(file: string): void {
    writeAtomically(file, this.bytes())
  }

  #endFolder(): void {
    if (this.#folderStart < 0) return
    this.#data.writeUInt32LE(this.#folderRecords, this.#folderStart)
    this.#data.writeUInt32LE(this.#length - this.#folderStart - 8, this.#folderStart + 4)
    this.#folderStart = -1
  }

  #writeString(text: string, lengthBytes: 2 | 4): void {
    const bytes = Buffer.byteLength(text)
    this.#ensure(lengthBytes + bytes)
    if (lengthBytes === 2) this.#data.writeUInt16LE(bytes, this.#length)
    else this.#data.writeUInt32LE(bytes, this.#length)
    this.#data.write(text, this.#length + lengthBytes, 'utf8')
    this.#length += lengthBytes + bytes
  }

  #ensure(bytes: number): void {
    if (this.#length + bytes <= this.#data.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#data.length * 2, this.#length + bytes))
    this.#data.copy(grown, 0, 0, this.#length)
    this.#data = grown
  }
}
