/**
 * The tree snapshot, kudev's cache of a build context under one set of ignore rules: every folder the last
 * walk listed, with the folder's stat and its listing (each entry's stat and content hash), and the context
 * digest. Where the snapshots live: src/hash/snapshot-store.ts.
 *
 * - As a stat cache, always: a file whose size, mtime, ctime, inode and mode are the recorded ones has the
 *   recorded content hash, so it is not read again (lookup).
 * - Where folder times can be trusted, also for the listings: a run first lstats every recorded folder and
 *   entry (check). When nothing moved, the digest is reused without listing a folder, deciding an ignore
 *   rule or building an entry. Otherwise only the folders that moved, or hold something that moved, and
 *   the folders above them are listed again, and only the files that moved are read (src/hash/scan.ts);
 *   every other folder's subtree keeps its recorded folder digest (src/hash/digest.ts) and totals. Why a
 *   folder's stat vouches for its listing: src/hash/folder-times.ts.
 *
 * The file: HEADER, then per folder its path (STRING), its FOLDER fields and its entry records (ENTRY), the
 * folders of copied subtrees last. Times are kept as seconds and nanoseconds: exact for the entries a build
 * sends, and the same milliseconds Node's number lstat reports (sec * 1e3 + nsec / 1e6), so checking needs
 * no BigInt.
 */
import {lstatSync, type Stats, statSync} from 'node:fs'
import {crc32} from 'node:zlib'

import {type Entry, type EntryType} from '../context/entries.js'
import {readVerified, writeAtomically} from './cache-file.js'
import {folderTimesTrusted, RACY_WINDOW_NS} from './folder-times.js'
import {SHA256_BYTES} from './scan.js'
import type {FolderSummary, Totals} from './tree.js'

const MAGIC = 'KUDEVSNP'
export const SNAPSHOT_VERSION = 2

// The layout: each block's fields as offsets from the block's start, and `end`, its size. Little-endian.

/** At the start of the file; the fields up to bodyBytes are every cache file's (cache-file.ts). */
const HEADER = {
  magic: 0, // MAGIC, 8 bytes
  version: 8, // u32 SNAPSHOT_VERSION
  checksum: 12, // u32 crc32 of the rest of the file, from bodyBytes on
  bodyBytes: 16, // u64 the file's bytes after the header
  folders: 24, // u32 folder blocks
  recorded: 28, // u32 entry records, excluded folders listed for a `!` rule included
  totals: 32, // TOTALS: what the context holds
  dev: 56, // f64 the root's device
  key: 64, // SHA256_BYTES: the snapshotKey it was made under
  contextDigest: 96, // SHA256_BYTES
  flags: 128, // u32 FLAGS
  reserved: 132, // u32 0
  end: 136,
} as const

/** Bits of HEADER.flags. */
const FLAGS = {foldersTrusted: 1} as const

/** A folder block: its path (STRING), these fields, then its entry records. */
const FOLDER = {
  racy: 0, // u8 1 when its stat cannot vouch for its listing (racy, another filesystem, listed every time)
  stat: 1, // STAT
  summary: 45, // SUMMARY
  entries: 102, // u32 entry records
  entriesBytes: 106, // u32 bytes of its entry records
  end: 110,
} as const

/** What a folder's subtree holds in the context (tree.ts). */
const SUMMARY = {
  digest: 0, // SHA256_BYTES: the folder digest (digest.ts)
  present: 32, // u8 1 when the folder is in the context (an excluded folder may be listed for a `!` rule)
  totals: 33, // TOTALS
  end: 57,
} as const

const TOTALS = {
  entries: 0, // u32
  files: 4, // u32
  dirs: 8, // u32
  symlinks: 12, // u32
  bytes: 16, // f64 the files' bytes
  end: 24,
} as const

/** An entry record: these fields, its name (STRING), then AFTER_NAME. */
const ENTRY = {
  type: 0, // u8 TYPE_CODE
  racy: 1, // u8 1 when its stat cannot vouch for it
  name: 2, // STRING
} as const

const AFTER_NAME = {
  stat: 0, // STAT
  content: 44, // a file's content hash (SHA256_BYTES), a symlink's target (STRING), nothing for a folder
} as const

const STAT = {
  mode: 0, // u32 mode & 0o7777
  size: 4, // f64
  mtime: 12, // TIME
  ctime: 24, // TIME
  ino: 36, // f64
  end: 44,
} as const

/** As the kernel's timespec. */
const TIME = {
  seconds: 0, // f64 rounded down (times before 1970 too)
  nanoseconds: 8, // u32 0 to 999,999,999
  end: 12,
} as const

const STRING = {
  length: 0, // u32 its UTF-8 bytes
  text: 4,
} as const

const TYPE_CODE = {dir: 2, file: 1, symlink: 3} as const
const TYPES: Record<number, EntryType> = {1: 'file', 2: 'dir', 3: 'symlink'}

/** What moved since the snapshot was written (Snapshot.check). */
export interface SnapshotCheck {
  /** Nothing did: the context digest holds. */
  clean: boolean
  /** Folders whose listing cannot be trusted (moved, gone, racy); they are listed again. */
  movedFolders: Set<string>
  /** Per recorded entry, 1 when its stat moved (or was racy): it is stat'ed, and a file read, again. */
  movedEntries: Uint8Array
  /**
   * Recorded folders that moved, hold an entry or a folder that moved, or lie above one: they are visited
   * again. Every other recorded folder's subtree is as recorded.
   */
  touched: Set<string>
}

/** What a check found moved, as it goes. */
/** A check that found nothing moved: listing() then gives every recorded folder as recorded. */
export const NOTHING_MOVED: SnapshotCheck = {
  clean: true,
  movedEntries: new Uint8Array(0),
  movedFolders: new Set(),
  touched: new Set(),
}

class Moved {
  readonly movedFolders = new Set<string>()
  readonly movedEntries: Uint8Array
  readonly touched = new Set<string>()

  constructor(recorded: number) {
    this.movedEntries = new Uint8Array(recorded)
  }

  /** The folder and every folder above it are visited again. */
  touch(folder: string): void {
    for (let at: string | undefined = folder; at !== undefined && !this.touched.has(at); at = parentOf(at))
      this.touched.add(at)
  }

  /** The folder is listed again; its parent's listing holds its stat, and its digest. */
  relist(folder: string): void {
    this.movedFolders.add(folder)
    this.touch(folder)
  }

  result(): SnapshotCheck {
    const {movedEntries, movedFolders, touched} = this
    return {clean: touched.size === 0, movedEntries, movedFolders, touched}
  }
}

/** One recorded folder's listing, as the walk would make it, for a folder whose stat did not move. */
export interface RecordedListing {
  entries: Entry[]
  /** SHA256_BYTES per entry: a file's content hash; zeros for the others. */
  hashes: Uint8Array
  /** 1 where the entry's stat moved: its Entry is the recorded one and must be replaced. */
  moved: Uint8Array
}

interface FolderRecord {
  /** Offset of the folder's path: its block, which the next snapshot copies for an untouched subtree, starts here. */
  start: number
  /** Offset after its last entry. */
  end: number
  /** Offset of its FOLDER fields. */
  fields: number
  /** Offset of its first entry. */
  entriesAt: number
  /** Global index of its first entry. */
  first: number
  count: number
}

/** A verified snapshot file. */
export class Snapshot {
  readonly key: Buffer
  readonly contextDigest: Buffer
  /** What the context holds (the root's totals). */
  readonly counts: Totals
  /** Folder times were trusted when it was written: check() may vouch for listings. Else it serves as a stat cache only. */
  readonly trusted: boolean
  readonly #data: Buffer
  readonly #folders = new Map<string, FolderRecord>()
  readonly #recorded: number
  readonly #dev: number

  /** `bytes` must have passed verification (readSnapshot). */
  constructor(bytes: Uint8Array) {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#data = data
    this.#recorded = data.readUInt32LE(HEADER.recorded)
    this.counts = readTotals(data, HEADER.totals)
    this.#dev = data.readDoubleLE(HEADER.dev)
    this.key = data.subarray(HEADER.key, HEADER.key + SHA256_BYTES)
    this.contextDigest = data.subarray(HEADER.contextDigest, HEADER.contextDigest + SHA256_BYTES)
    this.trusted = (data.readUInt32LE(HEADER.flags) & FLAGS.foldersTrusted) !== 0
    const folders = data.readUInt32LE(HEADER.folders)
    let at: number = HEADER.end
    let first = 0
    for (let index = 0; index < folders; index++) {
      const fields = stringEnd(data, at)
      const count = data.readUInt32LE(fields + FOLDER.entries)
      const entriesAt = fields + FOLDER.end
      const end = entriesAt + data.readUInt32LE(fields + FOLDER.entriesBytes)
      this.#folders.set(readString(data, at, fields), {count, end, entriesAt, fields, first, start: at})
      first += count
      at = end
    }
  }

  /**
   * lstats every recorded folder and entry below `root` and says what moved. One thread: checking half
   * in a worker thread made the whole slower here (lstat from two threads of one process contends).
   */
  check(root: string): SnapshotCheck {
    const check = new Moved(this.#recorded)
    for (const [folder, record] of this.#folders) {
      this.#checkFolder(root, folder, record, check)
      let at = record.entriesAt
      for (let entry = 0; entry < record.count; entry++) {
        this.#checkEntry(root, folder, record.first + entry, at, check)
        at = skipEntry(this.#data, at)
      }
    }

    return check.result()
  }

  /**
   * What moved, judged from the paths a file watcher reported (relative to the root, every change since
   * this snapshot was written) instead of lstat-ing every recorded entry: each path and the folder holding
   * it are checked; a path the snapshot does not record (new, or below a new folder) has its nearest
   * recorded folder listed again.
   */
  checkPaths(root: string, paths: Iterable<string>): SnapshotCheck {
    const check = new Moved(this.#recorded)
    for (const changed of paths) {
      const own = this.#folders.get(changed)
      if (own !== undefined) this.#checkFolder(root, changed, own, check)
      if (changed === '') continue
      let folder = parentOf(changed)!
      let record = this.#folders.get(folder)
      if (record === undefined) {
        // Below a folder the snapshot does not list: the nearest one it does is listed again.
        while (record === undefined && folder !== '') {
          folder = parentOf(folder)!
          record = this.#folders.get(folder)
        }

        if (record !== undefined) check.relist(folder)
        continue
      }

      // A created or removed entry moves its folder's times.
      this.#checkFolder(root, folder, record, check)
      const name = changed.slice(changed.lastIndexOf('/') + 1)
      const found = this.#find(record, name)
      if (found === undefined) check.relist(folder)
      else this.#checkEntry(root, folder, record.first + found.index, found.at, check)
    }

    return check.result()
  }

  /** A folder whose stat moved (or that is gone, or on another device) is listed again. */
  #checkFolder(root: string, folder: string, record: FolderRecord, check: Moved): void {
    // The root is followed, as the walk follows it (a context given as a symlink to a folder).
    const stats = folder === '' ? statOrGone(root) : lstatOrGone(`${root}/${folder}`)
    if (
      stats === undefined ||
      !stats.isDirectory() ||
      stats.dev !== this.#dev ||
      !sameStat(this.#data, record.fields + FOLDER.racy, record.fields + FOLDER.stat, stats)
    )
      check.relist(folder)
  }

  /** An entry (not a folder: its own stat is checked with the folder) whose stat or type moved is read again. */
  #checkEntry(root: string, folder: string, index: number, at: number, check: Moved): void {
    const data = this.#data
    const type = data[at + ENTRY.type]!
    if (type === TYPE_CODE.dir) return
    const nameEnd = stringEnd(data, at + ENTRY.name)
    const dir = folder === '' ? root : `${root}/${folder}`
    const stats = lstatOrGone(`${dir}/${readString(data, at + ENTRY.name, nameEnd)}`)
    if (
      stats === undefined ||
      !sameStat(data, at + ENTRY.racy, nameEnd + AFTER_NAME.stat, stats) ||
      (type === TYPE_CODE.file ? !stats.isFile() : !stats.isSymbolicLink())
    ) {
      check.movedEntries[index] = 1
      check.touch(folder)
    }
  }

  /** The entry named `name` in a recorded folder: its index in the folder and its offset. */
  #find(record: FolderRecord, name: string): {index: number; at: number} | undefined {
    const data = this.#data
    let at = record.entriesAt
    for (let index = 0; index < record.count; index++) {
      if (readString(data, at + ENTRY.name) === name) return {at, index}
      at = skipEntry(data, at)
    }

    return undefined
  }

  /** Which snapshot this is: its checksum, so a run can tell whether the file is still the one it wrote. */
  get id(): number {
    return this.#data.readUInt32LE(HEADER.checksum)
  }

  /** A recorded folder's digest, whether it is in the context, and its subtree's totals. */
  summary(folder: string): FolderSummary | undefined {
    const record = this.#folders.get(folder)
    if (record === undefined) return undefined
    const data = this.#data
    const at = record.fields + FOLDER.summary
    return {
      digest: data.subarray(at + SUMMARY.digest, at + SUMMARY.digest + SHA256_BYTES),
      present: data[at + SUMMARY.present] === 1,
      totals: readTotals(data, at + SUMMARY.totals),
    }
  }

  /** The blocks of the recorded folders in the subtrees of `roots`, for the next snapshot, and their entries. */
  subtreeBlocks(roots: ReadonlySet<string>): CopiedBlocks {
    const blocks: Uint8Array[] = []
    let entries = 0
    if (roots.size === 0) return {blocks, entries}
    for (const [folder, record] of this.#folders) {
      let inside = false
      for (let at: string | undefined = folder; at !== undefined && !inside; at = parentOf(at)) inside = roots.has(at)
      if (!inside) continue
      blocks.push(this.#data.subarray(record.start, record.end))
      entries += record.count
    }

    return {blocks, entries}
  }

  /** A folder's recorded entries by name (offset of each entry), to look files up by stat (HashRecords). */
  folder(folder: string): Map<string, number> | undefined {
    const record = this.#folders.get(folder)
    if (record === undefined) return undefined
    const data = this.#data
    const records = new Map<string, number>()
    let at = record.entriesAt
    for (let index = 0; index < record.count; index++) {
      records.set(readString(data, at + ENTRY.name), at)
      at = skipEntry(data, at)
    }

    return records
  }

  /** The recorded content hash of a file whose stat is still the recorded one (HashRecords). */
  lookup(records: Map<string, number>, name: string, entry: Entry): Uint8Array | undefined {
    const at = records.get(name)
    const data = this.#data
    if (at === undefined || data[at + ENTRY.type] !== TYPE_CODE.file || data[at + ENTRY.racy] !== 0) return undefined
    const nameEnd = stringEnd(data, at + ENTRY.name)
    const statAt = nameEnd + AFTER_NAME.stat
    if (
      data.readUInt32LE(statAt + STAT.mode) !== (entry.mode & 0o7777) ||
      data.readDoubleLE(statAt + STAT.size) !== entry.size ||
      nanoseconds(data, statAt + STAT.mtime) !== entry.mtimeNs ||
      nanoseconds(data, statAt + STAT.ctime) !== entry.ctimeNs ||
      data.readDoubleLE(statAt + STAT.ino) !== Number(entry.ino)
    )
      return undefined
    const hashAt = nameEnd + AFTER_NAME.content
    return data.subarray(hashAt, hashAt + SHA256_BYTES)
  }

  /** The recorded listing of a folder whose stat did not move; undefined for a folder not recorded or moved. */
  listing(folder: string, check: SnapshotCheck): RecordedListing | undefined {
    const record = this.#folders.get(folder)
    if (record === undefined || check.movedFolders.has(folder)) return undefined
    const data = this.#data
    const dev = BigInt(this.#dev)
    const entries: Entry[] = []
    const hashes = new Uint8Array(record.count * SHA256_BYTES)
    let at = record.entriesAt
    for (let index = 0; index < record.count; index++) {
      const type = TYPES[data[at + ENTRY.type]!]!
      const nameEnd = stringEnd(data, at + ENTRY.name)
      const name = readString(data, at + ENTRY.name, nameEnd)
      const statAt = nameEnd + AFTER_NAME.stat
      const entry: Entry = {
        ctimeNs: nanoseconds(data, statAt + STAT.ctime),
        dev,
        ino: BigInt(data.readDoubleLE(statAt + STAT.ino)),
        mode: data.readUInt32LE(statAt + STAT.mode),
        mtimeNs: nanoseconds(data, statAt + STAT.mtime),
        path: folder === '' ? name : `${folder}/${name}`,
        size: data.readDoubleLE(statAt + STAT.size),
        type,
      }
      const contentAt = nameEnd + AFTER_NAME.content
      if (type === 'file') hashes.set(data.subarray(contentAt, contentAt + SHA256_BYTES), index * SHA256_BYTES)
      else if (type === 'symlink') entry.linkTarget = readString(data, contentAt)
      entries.push(entry)
      at = skipEntry(data, at)
    }

    return {entries, hashes, moved: check.movedEntries.subarray(record.first, record.first + record.count)}
  }
}

/** Number stats (no BigInt, the check compares milliseconds); undefined when the path is gone or cannot be reached (ENOTDIR, EACCES). */
function lstatOrGone(file: string): Stats | undefined {
  try {
    return lstatSync(file, {throwIfNoEntry: false})
  } catch {
    return undefined
  }
}

function statOrGone(file: string): Stats | undefined {
  try {
    return statSync(file, {throwIfNoEntry: false})
  } catch {
    return undefined
  }
}

/** The offset after the entry record at `at`. */
function skipEntry(data: Buffer, at: number): number {
  const type = data[at + ENTRY.type]!
  const contentAt = stringEnd(data, at + ENTRY.name) + AFTER_NAME.content
  if (type === TYPE_CODE.file) return contentAt + SHA256_BYTES
  if (type === TYPE_CODE.symlink) return stringEnd(data, contentAt)
  return contentAt
}

/** The offset after the STRING at `at`. */
function stringEnd(data: Buffer, at: number): number {
  return at + STRING.text + data.readUInt32LE(at + STRING.length)
}

function readString(data: Buffer, at: number, end = stringEnd(data, at)): string {
  return data.toString('utf8', at + STRING.text, end)
}

/** Whether a record's racy byte is 0 and its STAT at `statAt` is `stats`. */
function sameStat(
  data: Buffer,
  racyAt: number,
  statAt: number,
  stats: {mode: number; size: number; mtimeMs: number; ctimeMs: number; ino: number},
): boolean {
  return (
    data[racyAt] === 0 &&
    (stats.mode & 0o7777) === data.readUInt32LE(statAt + STAT.mode) &&
    stats.size === data.readDoubleLE(statAt + STAT.size) &&
    stats.mtimeMs === milliseconds(data, statAt + STAT.mtime) &&
    stats.ctimeMs === milliseconds(data, statAt + STAT.ctime) &&
    stats.ino === data.readDoubleLE(statAt + STAT.ino)
  )
}

function parentOf(folder: string): string | undefined {
  return folder === '' ? undefined : folder.slice(0, Math.max(folder.lastIndexOf('/'), 0))
}

function nanoseconds(data: Buffer, at: number): bigint {
  return (
    BigInt(data.readDoubleLE(at + TIME.seconds)) * 1_000_000_000n + BigInt(data.readUInt32LE(at + TIME.nanoseconds))
  )
}

/** As Node's number stats give them. */
function milliseconds(data: Buffer, at: number): number {
  return data.readDoubleLE(at + TIME.seconds) * 1e3 + data.readUInt32LE(at + TIME.nanoseconds) / 1e6
}

function readTotals(data: Buffer, at: number): Totals {
  return {
    bytes: data.readDoubleLE(at + TOTALS.bytes),
    dirs: data.readUInt32LE(at + TOTALS.dirs),
    entries: data.readUInt32LE(at + TOTALS.entries),
    files: data.readUInt32LE(at + TOTALS.files),
    symlinks: data.readUInt32LE(at + TOTALS.symlinks),
  }
}

/** A usable snapshot, or the reason there is none. */
export function readSnapshot(file: string): Snapshot | {problem: string} {
  const read = readVerified(file, MAGIC, SNAPSHOT_VERSION, HEADER.end)
  if ('problem' in read) return read
  try {
    return new Snapshot(read.bytes)
  } catch (error) {
    // The checksum matched, so kudev wrote it; a layout this code does not expect is still no reason to fail.
    return {problem: `malformed (${(error as Error).message})`}
  }
}

/** Folders of a snapshot, each block one folder with its listing, and how many entries they record. */
export interface CopiedBlocks {
  blocks: Uint8Array[]
  entries: number
}

/** A folder the walk listed: its stat, taken before it was listed, its listing and its summary. */
export interface ListedFolder {
  path: string
  stat: Entry
  entries: readonly Entry[]
  /** SHA256_BYTES per entry: a file's content hash. */
  hashes: Uint8Array
  summary: FolderSummary
  /** List it again every time (it holds a socket, FIFO or device, whose warning must show on every run). */
  relist?: boolean
}

export interface SnapshotInput {
  root: string
  key: Buffer
  /** Every folder the walk listed, the root ('') first. */
  folders: ListedFolder[]
  /** Untouched subtrees of the last snapshot (Snapshot.subtreeBlocks), copied as they are. */
  copied?: CopiedBlocks
  /** Wall-clock time (ns since the epoch) when the walk began. */
  walkStartedNs: bigint
  env?: NodeJS.ProcessEnv
}

/** Writes the snapshot of a walk to `file`, replacing it whole (cache-file.ts); returns its id (Snapshot.id). */
export function writeSnapshot(file: string, input: SnapshotInput): number {
  const data = encodeSnapshot(input)
  writeAtomically(file, data)
  return data.readUInt32LE(HEADER.checksum)
}

function encodeSnapshot(input: SnapshotInput): Buffer {
  const trusted = folderTimesTrusted(input.root, input.env) === true
  const racyFrom = input.walkStartedNs - (trusted ? RACY_WINDOW_NS.trusted : RACY_WINDOW_NS.untrusted)
  // Where listings are vouched for, the mode comes from the record too, and a chmod moves only the ctime.
  // A content record needs only the mtime: a write after a recent chmod still moves it.
  const racy = (entry: Entry) => (entry.mtimeNs >= racyFrom || (trusted && entry.ctimeNs >= racyFrom) ? 1 : 0)
  const rootStat = input.folders[0]?.stat
  if (rootStat === undefined || input.folders[0]!.path !== '')
    throw new Error('the tree snapshot needs the root listed first')
  const copied = input.copied ?? {blocks: [], entries: 0}
  const writer = new Writer(encodedSize(input.folders, copied.blocks))
  const data = writer.data
  writer.claim(HEADER.end)
  let recorded = copied.entries
  for (const folder of input.folders) {
    recorded += folder.entries.length
    writer.string(folder.path)
    const fields = writer.claim(FOLDER.end)
    // A folder on another filesystem (a mount inside the context) is listed again every time.
    data[fields + FOLDER.racy] = folder.relist || folder.stat.dev !== rootStat.dev ? 1 : racy(folder.stat)
    writeStat(data, fields + FOLDER.stat, folder.stat)
    writeSummary(data, fields + FOLDER.summary, folder.summary)
    data.writeUInt32LE(folder.entries.length, fields + FOLDER.entries)
    for (const [index, entry] of folder.entries.entries()) {
      const at = writer.claim(ENTRY.name)
      data[at + ENTRY.type] = TYPE_CODE[entry.type]
      data[at + ENTRY.racy] = racy(entry)
      writer.string(entry.path.slice(entry.path.lastIndexOf('/') + 1))
      writeStat(data, writer.claim(AFTER_NAME.content) + AFTER_NAME.stat, entry)
      if (entry.type === 'file') writer.bytes(folder.hashes.subarray(index * SHA256_BYTES, (index + 1) * SHA256_BYTES))
      else if (entry.type === 'symlink') writer.string(entry.linkTarget ?? '')
    }

    data.writeUInt32LE(writer.length - (fields + FOLDER.end), fields + FOLDER.entriesBytes)
  }

  for (const block of copied.blocks) writer.bytes(block)
  writer.finish()
  data.write(MAGIC, HEADER.magic, 'latin1')
  data.writeUInt32LE(SNAPSHOT_VERSION, HEADER.version)
  data.writeBigUInt64LE(BigInt(data.length - HEADER.end), HEADER.bodyBytes)
  data.writeUInt32LE(input.folders.length + copied.blocks.length, HEADER.folders)
  data.writeUInt32LE(recorded, HEADER.recorded)
  writeTotals(data, HEADER.totals, input.folders[0]!.summary.totals)
  data.writeDoubleLE(Number(rootStat.dev), HEADER.dev)
  data.set(input.key, HEADER.key)
  data.set(input.folders[0]!.summary.digest, HEADER.contextDigest)
  data.writeUInt32LE(trusted ? FLAGS.foldersTrusted : 0, HEADER.flags)
  data.writeUInt32LE(0, HEADER.reserved)
  data.writeUInt32LE(crc32(data.subarray(HEADER.bodyBytes)), HEADER.checksum)
  return data
}

/** The snapshot's size in bytes, so that it is written into one buffer of the right size (a cold run's peak memory). */
function encodedSize(folders: readonly ListedFolder[], blocks: readonly Uint8Array[]): number {
  let bytes: number = HEADER.end
  for (const block of blocks) bytes += block.length
  for (const folder of folders) {
    bytes += STRING.text + Buffer.byteLength(folder.path) + FOLDER.end
    for (const entry of folder.entries) {
      const name = entry.path.slice(entry.path.lastIndexOf('/') + 1)
      bytes += ENTRY.name + STRING.text + Buffer.byteLength(name) + AFTER_NAME.content
      if (entry.type === 'file') bytes += SHA256_BYTES
      else if (entry.type === 'symlink') bytes += STRING.text + Buffer.byteLength(entry.linkTarget ?? '')
    }
  }

  return bytes
}

function writeStat(data: Buffer, at: number, entry: Entry): void {
  data.writeUInt32LE(entry.mode & 0o7777, at + STAT.mode)
  data.writeDoubleLE(entry.size, at + STAT.size)
  writeTime(data, at + STAT.mtime, entry.mtimeNs)
  writeTime(data, at + STAT.ctime, entry.ctimeNs)
  data.writeDoubleLE(Number(entry.ino), at + STAT.ino)
}

function writeTime(data: Buffer, at: number, ns: bigint): void {
  let seconds = ns / 1_000_000_000n
  let rest = ns % 1_000_000_000n
  if (rest < 0n) {
    rest += 1_000_000_000n
    seconds -= 1n
  }

  data.writeDoubleLE(Number(seconds), at + TIME.seconds)
  data.writeUInt32LE(Number(rest), at + TIME.nanoseconds)
}

function writeSummary(data: Buffer, at: number, summary: FolderSummary): void {
  data.set(summary.digest, at + SUMMARY.digest)
  data[at + SUMMARY.present] = summary.present ? 1 : 0
  writeTotals(data, at + SUMMARY.totals, summary.totals)
}

function writeTotals(data: Buffer, at: number, totals: Totals): void {
  data.writeUInt32LE(totals.entries, at + TOTALS.entries)
  data.writeUInt32LE(totals.files, at + TOTALS.files)
  data.writeUInt32LE(totals.dirs, at + TOTALS.dirs)
  data.writeUInt32LE(totals.symlinks, at + TOTALS.symlinks)
  data.writeDoubleLE(totals.bytes, at + TOTALS.bytes)
}

/** Claims the buffer's bytes in order; encodedSize sized it. */
class Writer {
  readonly data: Buffer
  #length = 0

  constructor(size: number) {
    this.data = Buffer.allocUnsafe(size)
  }

  get length(): number {
    return this.#length
  }

  /** The offset of the next `bytes` bytes; the caller writes every one. */
  claim(bytes: number): number {
    this.#length += bytes
    return this.#length - bytes
  }

  bytes(bytes: Uint8Array): void {
    this.data.set(bytes, this.claim(bytes.length))
  }

  string(text: string): void {
    const bytes = Buffer.byteLength(text)
    const at = this.claim(STRING.text + bytes)
    this.data.writeUInt32LE(bytes, at + STRING.length)
    this.data.write(text, at + STRING.text, 'utf8')
  }

  /** Checks that every byte was claimed. */
  finish(): void {
    if (this.#length !== this.data.length)
      throw new Error(`the tree snapshot took ${this.#length} bytes, encodedSize said ${this.data.length}`)
  }
}
