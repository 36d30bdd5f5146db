/**
 * The tree snapshot, kudev's cache of a build context under one set of ignore rules: every folder the last
 * walk listed, with the folder's stat and its listing (each entry's stat and content hash), and the context
 * digest. A context keeps one per rule set (a Dockerfile's own .dockerignore, spec.buildContextExclusions),
 * so that configs sharing a context do not overwrite each other's, up to KEPT_PER_CONTEXT.
 *
 * - As a stat cache, always: a file whose size, mtime, ctime, inode and mode are the recorded ones has the
 *   recorded content hash, so it is not read again (lookup).
 * - Where folder times can be trusted, also for the listings: a run first lstats every recorded folder and
 *   entry (check). When nothing moved, the digest is reused without listing a folder, deciding an ignore
 *   rule or building an entry. Otherwise only the folders that moved, or hold something that moved, and
 *   the folders above them are listed again, and only the files that moved are read (src/hash/scan.ts);
 *   every other folder's subtree keeps its recorded folder digest (src/hash/digest.ts) and totals.
 *
 * Why a folder's stat vouches for its listing: adding, removing or renaming an entry changes the folder's
 * mtime and ctime. kudev trusts that only on local Linux filesystems known to keep it (git's untracked
 * cache tests the filesystem for the same reason), only for folders on the context root's filesystem,
 * never when KUDEV_TRUST_FOLDER_TIMES=0, and not for stats inside the racy window, which are recorded as
 * moved. Each folder's stat is taken before it is listed (the walk lstats a folder in its parent's
 * listing), so a change during the walk shows next time.
 *
 *   header  "KUDEVSNP" | u32 version | u32 crc32(rest of the file) | u64 body bytes
 *           u32 folders | u32 entries | u32 files | u32 dirs | u32 symlinks | u32 0 | f64 file bytes
 *           f64 dev | key (32) | context digest (32) | u32 flags (1: folder times trusted) | u32 0
 *   body    per folder: str(path) | u8 racy | stat | summary | u32 entries | u32 bytes of its entries, then per entry:
 *                       u8 type | u8 racy | str(name) | stat | sha256 (file) or str(target) (symlink)
 *   stat    u32 mode & 0o7777 | f64 size | f64 mtime s | u32 mtime ns | f64 ctime s | u32 ctime ns | f64 ino
 *   summary folder digest (32) | u8 in the context when excluded | u32 entries | u32 files | u32 dirs
 *           | u32 symlinks | f64 file bytes (its subtree's, as in the context)
 *   str     u32 UTF-8 bytes | bytes
 *
 * Little-endian. Times are kept as seconds and nanoseconds: exact for the entries a build sends, and the
 * same milliseconds Node's number lstat reports (sec * 1e3 + nsec / 1e6), so checking needs no BigInt.
 * "entries" in the header counts every recorded entry, excluded folders listed for a `!` rule included.
 */
import {createHash} from 'node:crypto'
import {lstatSync, readdirSync, readFileSync, rmSync, type Stats, statfsSync, statSync} from 'node:fs'
import path from 'node:path'
import {crc32} from 'node:zlib'

import {type Entry, type EntryType} from '../context/entries.js'
import type {ContextFilter} from '../context/filter.js'
import {cacheDir, cacheKey, readVerified, writeAtomically} from './cache-file.js'
import type {FolderSummary, Totals} from './tree.js'

const MAGIC = 'KUDEVSNP'
export const SNAPSHOT_VERSION = 2
const HEADER_BYTES = 136
const TRUSTED_FLAG = 1
/** mode at 0, size at 4, mtime s at 12 and ns at 20, ctime s at 24 and ns at 32, ino at 36. */
const STAT_BYTES = 4 + 8 + 8 + 4 + 8 + 4 + 8
/** Folder digest, u8 present, four u32 counts, f64 bytes. */
const SUMMARY_BYTES = 32 + 1 + 16 + 8
const TYPE_CODE = {dir: 2, file: 1, symlink: 3} as const
const TYPES: Record<number, EntryType> = {1: 'file', 2: 'dir', 3: 'symlink'}

/**
 * git's racy rule: a stat within this window before the walk began may share its clock tick with a change
 * right after kudev looked, so it is recorded as moved. The trusted filesystems below keep nanosecond times from this machine's clock in ticks of at most
 * 10 ms: a tenth of a second is plenty. Elsewhere 2 s covers FAT's granularity and a remote clock a little
 * behind this machine's.
 */
const RACY_WINDOW_NS = {trusted: 100_000_000n, untrusted: 2_000_000_000n}

/**
 * statfs magic numbers of local filesystems that update a folder's mtime and ctime whenever an entry is
 * added, removed or renamed in it: ext2/3/4, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs, bcachefs.
 * Network and FUSE filesystems are not among them.
 */
const TRUSTED_FILESYSTEMS = new Set([
  0xef_53, 0x58_46_53_42, 0x91_23_68_3e, 0x01_02_19_94, 0x79_4c_76_30, 0x2f_c1_2f_c1, 0xf2_f5_20_10, 0xca_45_1a_4e,
])

/** Snapshots of one context under as many rule sets; the least recently written go first. */
const KEPT_PER_CONTEXT = 4

/** The folder holding one context's snapshots. */
export function snapshotFolder(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'tree', cacheKey(contextRoot))
}

/** The snapshot file of one context under the rules of `key` (snapshotKey). */
export function snapshotFile(contextRoot: string, key: Buffer, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(snapshotFolder(contextRoot, env), `${key.toString('hex', 0, 8)}.bin`)
}

/** A context's snapshot files, the most recently written first. */
export function snapshotFiles(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const folder = snapshotFolder(contextRoot, env)
  let names: string[]
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.bin'))
  } catch {
    return []
  }

  const written = new Map(
    names.map((name) => [
      path.join(folder, name),
      statSync(path.join(folder, name), {throwIfNoEntry: false})?.mtimeMs ?? 0,
    ]),
  )
  return [...written.keys()].sort((a, b) => written.get(b)! - written.get(a)!)
}

let kudevVersion: string | undefined

/**
 * What decides which entries are in the context, besides the tree: the ignore rules, the exclusions and
 * the kudev that applied them. A snapshot made under other rules says nothing about this run.
 */
export function snapshotKey(filter: ContextFilter): Buffer {
  kudevVersion ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
  ).version
  const rules = filter.rules.map((rule) => [rule.pattern, rule.negated])
  return createHash('sha256')
    .update(JSON.stringify([SNAPSHOT_VERSION, kudevVersion, filter.source, rules, filter.exclusions]))
    .digest()
}

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
  /** Offset of the folder's racy byte, followed by its stat. */
  at: number
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
    this.#recorded = data.readUInt32LE(28)
    this.counts = {
      bytes: data.readDoubleLE(48),
      dirs: data.readUInt32LE(40),
      entries: data.readUInt32LE(32),
      files: data.readUInt32LE(36),
      symlinks: data.readUInt32LE(44),
    }
    this.#dev = data.readDoubleLE(56)
    this.key = data.subarray(64, 96)
    this.contextDigest = data.subarray(96, 128)
    this.trusted = (data.readUInt32LE(128) & TRUSTED_FLAG) !== 0
    const folders = data.readUInt32LE(24)
    let at = HEADER_BYTES
    let first = 0
    for (let index = 0; index < folders; index++) {
      const end = at + 4 + data.readUInt32LE(at)
      const countAt = end + 1 + STAT_BYTES + SUMMARY_BYTES
      const count = data.readUInt32LE(countAt)
      const entriesAt = countAt + 8
      const record = {at: end, count, end: entriesAt + data.readUInt32LE(countAt + 4), entriesAt, first, start: at}
      this.#folders.set(data.toString('utf8', at + 4, end), record)
      first += count
      at = record.end
    }
  }

  /**
   * lstats every recorded folder and entry below `root` and says what moved. One thread: checking half
   * in a worker thread made the whole slower here (lstat from two threads of one process contends).
   */
  check(root: string): SnapshotCheck {
    const data = this.#data
    const movedFolders = new Set<string>()
    const movedEntries = new Uint8Array(this.#recorded)
    const touched = new Set<string>()
    const touch = (folder: string) => {
      for (let at: string | undefined = folder; at !== undefined && !touched.has(at); at = parentOf(at)) touched.add(at)
    }

    for (const [folder, record] of this.#folders) {
      const dir = folder === '' ? root : `${root}/${folder}`
      // The root is followed, as the walk follows it (a context given as a symlink to a folder).
      const stats = folder === '' ? statOrGone(root) : lstatOrGone(dir)
      if (stats === undefined || !stats.isDirectory() || stats.dev !== this.#dev || !sameStat(data, record.at, stats)) {
        movedFolders.add(folder)
        // Its parent's listing holds its stat, and its digest.
        touch(folder)
      }

      let at = record.entriesAt
      for (let entry = 0; entry < record.count; entry++) {
        const type = data[at]!
        // A folder's own stat is checked with the folder.
        if (type !== TYPE_CODE.dir) {
          const end = at + 6 + data.readUInt32LE(at + 2)
          const entryStats = lstatOrGone(`${dir}/${data.toString('utf8', at + 6, end)}`)
          if (
            entryStats === undefined ||
            !sameStat(data, at + 1, entryStats, end) ||
            (type === TYPE_CODE.file ? !entryStats.isFile() : !entryStats.isSymbolicLink())
          ) {
            movedEntries[record.first + entry] = 1
            touch(folder)
          }
        }

        at = skipEntry(data, at)
      }
    }

    return {clean: touched.size === 0, movedEntries, movedFolders, touched}
  }

  /** A recorded folder's digest, whether it is in the context, and its subtree's totals. */
  summary(folder: string): FolderSummary | undefined {
    const record = this.#folders.get(folder)
    if (record === undefined) return undefined
    const data = this.#data
    const at = record.at + 1 + STAT_BYTES
    return {
      digest: data.subarray(at, at + 32),
      present: data[at + 32] === 1,
      totals: {
        bytes: data.readDoubleLE(at + 49),
        dirs: data.readUInt32LE(at + 41),
        entries: data.readUInt32LE(at + 33),
        files: data.readUInt32LE(at + 37),
        symlinks: data.readUInt32LE(at + 45),
      },
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
      records.set(data.toString('utf8', at + 6, at + 6 + data.readUInt32LE(at + 2)), at)
      at = skipEntry(data, at)
    }

    return records
  }

  /** The recorded content hash of a file whose stat is still the recorded one (HashRecords). */
  lookup(records: Map<string, number>, name: string, entry: Entry): Uint8Array | undefined {
    const at = records.get(name)
    if (at === undefined || this.#data[at] !== TYPE_CODE.file || this.#data[at + 1] !== 0) return undefined
    const data = this.#data
    const statAt = at + 6 + Buffer.byteLength(name)
    if (
      data.readUInt32LE(statAt) !== (entry.mode & 0o7777) ||
      data.readDoubleLE(statAt + 4) !== entry.size ||
      nanoseconds(data, statAt + 12) !== entry.mtimeNs ||
      nanoseconds(data, statAt + 24) !== entry.ctimeNs ||
      data.readDoubleLE(statAt + 36) !== Number(entry.ino)
    )
      return undefined
    return data.subarray(statAt + STAT_BYTES, statAt + STAT_BYTES + 32)
  }

  /** The recorded listing of a folder whose stat did not move; undefined for a folder not recorded or moved. */
  listing(folder: string, check: SnapshotCheck): RecordedListing | undefined {
    const record = this.#folders.get(folder)
    if (record === undefined || check.movedFolders.has(folder)) return undefined
    const data = this.#data
    const dev = BigInt(this.#dev)
    const entries: Entry[] = []
    const hashes = new Uint8Array(record.count * 32)
    let at = record.entriesAt
    for (let index = 0; index < record.count; index++) {
      const type = TYPES[data[at]!]!
      const end = at + 6 + data.readUInt32LE(at + 2)
      const name = data.toString('utf8', at + 6, end)
      const entry: Entry = {
        ctimeNs: nanoseconds(data, end + 24),
        dev,
        ino: BigInt(data.readDoubleLE(end + 36)),
        mode: data.readUInt32LE(end),
        mtimeNs: nanoseconds(data, end + 12),
        path: folder === '' ? name : `${folder}/${name}`,
        size: data.readDoubleLE(end + 4),
        type,
      }
      const tail = end + STAT_BYTES
      if (type === 'file') hashes.set(data.subarray(tail, tail + 32), index * 32)
      else if (type === 'symlink')
        entry.linkTarget = data.toString('utf8', tail + 4, tail + 4 + data.readUInt32LE(tail))
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

/** The offset after the entry at `at`. */
function skipEntry(data: Buffer, at: number): number {
  const type = data[at]!
  const tail = at + 6 + data.readUInt32LE(at + 2) + STAT_BYTES
  if (type === TYPE_CODE.file) return tail + 32
  if (type === TYPE_CODE.symlink) return tail + 4 + data.readUInt32LE(tail)
  return tail
}

/** `racyAt`: the record's racy byte; the stat follows it, or starts at `statAt` when given. */
function sameStat(
  data: Buffer,
  racyAt: number,
  stats: {mode: number; size: number; mtimeMs: number; ctimeMs: number; ino: number},
  statAt = racyAt + 1,
): boolean {
  return (
    data[racyAt] === 0 &&
    (stats.mode & 0o7777) === data.readUInt32LE(statAt) &&
    stats.size === data.readDoubleLE(statAt + 4) &&
    stats.mtimeMs === data.readDoubleLE(statAt + 12) * 1e3 + data.readUInt32LE(statAt + 20) / 1e6 &&
    stats.ctimeMs === data.readDoubleLE(statAt + 24) * 1e3 + data.readUInt32LE(statAt + 32) / 1e6 &&
    stats.ino === data.readDoubleLE(statAt + 36)
  )
}

function parentOf(folder: string): string | undefined {
  return folder === '' ? undefined : folder.slice(0, Math.max(folder.lastIndexOf('/'), 0))
}

/** As the kernel's timespec: whole seconds rounded down, and 0 to 999,999,999 ns (times before 1970 too). */
function writeTime(data: Buffer, ns: bigint, at: number): number {
  let seconds = ns / 1_000_000_000n
  let rest = ns % 1_000_000_000n
  if (rest < 0n) {
    rest += 1_000_000_000n
    seconds -= 1n
  }

  return data.writeUInt32LE(Number(rest), data.writeDoubleLE(Number(seconds), at))
}

function nanoseconds(data: Buffer, at: number): bigint {
  return BigInt(data.readDoubleLE(at)) * 1_000_000_000n + BigInt(data.readUInt32LE(at + 8))
}

/** A usable snapshot, or the reason there is none. */
export function readSnapshot(file: string): Snapshot | {problem: string} {
  const read = readVerified(file, MAGIC, SNAPSHOT_VERSION, HEADER_BYTES)
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

/**
 * Whether a folder's times can vouch for its listing on the filesystem holding `root`; the reason when not.
 * KUDEV_TRUST_FOLDER_TIMES=0 says no, for a filesystem that claims to be one of these but is not.
 */
export function folderTimesTrusted(root: string, env: NodeJS.ProcessEnv = process.env): true | string {
  if (env.KUDEV_TRUST_FOLDER_TIMES === '0') return 'KUDEV_TRUST_FOLDER_TIMES=0'
  if (process.platform !== 'linux') return `not on ${process.platform}, yet`
  const filesystem = statfsSync(root).type
  return (
    TRUSTED_FILESYSTEMS.has(filesystem) ||
    `filesystem type 0x${filesystem.toString(16)} is not known to keep folder times`
  )
}

/** The snapshot's bytes. */
export function encodeSnapshot(input: SnapshotInput): Buffer {
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
  writer.reserve(HEADER_BYTES)
  let recorded = copied.entries
  for (const folder of input.folders) {
    recorded += folder.entries.length
    writer.string(folder.path)
    // A folder on another filesystem (a mount inside the context) is listed again every time.
    writer.u8(folder.relist || folder.stat.dev !== rootStat.dev ? 1 : racy(folder.stat))
    writer.stat(folder.stat)
    writer.summary(folder.summary)
    writer.u32(folder.entries.length)
    const sizeAt = writer.reserve(4)
    for (const [index, entry] of folder.entries.entries()) {
      writer.u8(TYPE_CODE[entry.type])
      writer.u8(racy(entry))
      writer.string(entry.path.slice(entry.path.lastIndexOf('/') + 1))
      writer.stat(entry)
      if (entry.type === 'file') writer.bytes(folder.hashes.subarray(index * 32, index * 32 + 32))
      else if (entry.type === 'symlink') writer.string(entry.linkTarget ?? '')
    }

    writer.u32At(writer.length - sizeAt - 4, sizeAt)
  }

  for (const block of copied.blocks) writer.bytes(block)
  const data = writer.finish()
  const counts = input.folders[0]!.summary.totals
  data.write(MAGIC, 0, 'latin1')
  data.writeUInt32LE(SNAPSHOT_VERSION, 8)
  data.writeBigUInt64LE(BigInt(data.length - HEADER_BYTES), 16)
  data.writeUInt32LE(input.folders.length + copied.blocks.length, 24)
  data.writeUInt32LE(recorded, 28)
  data.writeUInt32LE(counts.entries, 32)
  data.writeUInt32LE(counts.files, 36)
  data.writeUInt32LE(counts.dirs, 40)
  data.writeUInt32LE(counts.symlinks, 44)
  data.writeDoubleLE(counts.bytes, 48)
  data.writeDoubleLE(Number(rootStat.dev), 56)
  data.set(input.key, 64)
  data.set(input.folders[0]!.summary.digest, 96)
  data.writeUInt32LE(trusted ? TRUSTED_FLAG : 0, 128)
  data.writeUInt32LE(crc32(data.subarray(16)), 12)
  return data
}

/** The snapshot's size in bytes, so that it is written into one buffer of the right size (a cold run's peak memory). */
function encodedSize(folders: readonly ListedFolder[], blocks: readonly Uint8Array[]): number {
  let bytes = HEADER_BYTES
  for (const block of blocks) bytes += block.length
  for (const folder of folders) {
    bytes += 4 + Buffer.byteLength(folder.path) + 1 + STAT_BYTES + SUMMARY_BYTES + 8
    for (const entry of folder.entries) {
      bytes += 6 + Buffer.byteLength(entry.path.slice(entry.path.lastIndexOf('/') + 1)) + STAT_BYTES
      if (entry.type === 'file') bytes += 32
      else if (entry.type === 'symlink') bytes += 4 + Buffer.byteLength(entry.linkTarget ?? '')
    }
  }

  return bytes
}

/** Writes the snapshot, then removes the context's least recently written ones beyond KEPT_PER_CONTEXT. */
export function saveSnapshot(file: string, input: SnapshotInput): void {
  writeAtomically(file, encodeSnapshot(input))
  for (const old of snapshotFiles(input.root, input.env)
    .filter((other) => other !== file)
    .slice(KEPT_PER_CONTEXT - 1))
    rmSync(old, {force: true})
}

class Writer {
  #data: Buffer
  #length = 0

  constructor(capacity: number) {
    this.#data = Buffer.allocUnsafe(capacity)
  }

  get length(): number {
    return this.#length
  }

  /** Zeros to fill in later; returns their offset. */
  reserve(bytes: number): number {
    this.#ensure(bytes)
    this.#data.fill(0, this.#length, this.#length + bytes)
    this.#length += bytes
    return this.#length - bytes
  }

  u32At(value: number, at: number): void {
    this.#data.writeUInt32LE(value, at)
  }

  u8(value: number): void {
    this.#ensure(1)
    this.#data[this.#length++] = value
  }

  u32(value: number): void {
    this.#ensure(4)
    this.#length = this.#data.writeUInt32LE(value, this.#length)
  }

  bytes(bytes: Uint8Array): void {
    this.#ensure(bytes.length)
    this.#data.set(bytes, this.#length)
    this.#length += bytes.length
  }

  string(text: string): void {
    const bytes = Buffer.byteLength(text)
    this.#ensure(4 + bytes)
    this.#data.writeUInt32LE(bytes, this.#length)
    this.#data.write(text, this.#length + 4, 'utf8')
    this.#length += 4 + bytes
  }

  summary(summary: FolderSummary): void {
    this.#ensure(SUMMARY_BYTES)
    const data = this.#data
    data.set(summary.digest, this.#length)
    let at = this.#length + 32
    data[at++] = summary.present ? 1 : 0
    const {totals} = summary
    for (const count of [totals.entries, totals.files, totals.dirs, totals.symlinks]) at = data.writeUInt32LE(count, at)
    this.#length = data.writeDoubleLE(totals.bytes, at)
  }

  stat(entry: Entry): void {
    this.#ensure(STAT_BYTES)
    const data = this.#data
    let at = data.writeUInt32LE(entry.mode & 0o7777, this.#length)
    at = data.writeDoubleLE(entry.size, at)
    at = writeTime(data, entry.mtimeNs, at)
    at = writeTime(data, entry.ctimeNs, at)
    this.#length = data.writeDoubleLE(Number(entry.ino), at)
  }

  finish(): Buffer {
    return this.#data.subarray(0, this.#length)
  }

  #ensure(bytes: number): void {
    if (this.#length + bytes <= this.#data.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#data.length * 2, this.#length + bytes))
    this.#data.copy(grown, 0, 0, this.#length)
    this.#data = grown
  }
}
