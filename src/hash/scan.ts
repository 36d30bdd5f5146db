/**
 * The walk with content hashes: list folders (src/context/walk.ts) and take each file's hash from the stat
 * cache when its stat still matches; queue the others for the hash pool (src/hash/files.ts), whose
 * results come back through `hashed`.
 */
import type {ContextFilter} from '../context/filter.js'
import type {Entry} from '../context/entries.js'
import {ContextWalker, type FolderListing, type FolderTask} from '../context/walk.js'
import type {HashedCallback, HashPool} from './files.js'
import type {RecordedListing, Snapshot, SnapshotCheck} from './snapshot.js'

export const SHA256_BYTES = 32

export interface HashedListing extends FolderListing {
  /** SHA256_BYTES per entry: a file's content sha256; zeros for folders and symlinks. */
  hashes: Uint8Array
}

export interface ScanBudget {
  /** Stop after the folder during which this many entries were listed. */
  entries: number
}

export interface ScanCounters {
  /** Entries listed. */
  entries: number
  /** Files whose hash came from the tree snapshot, and their bytes. */
  cachedFiles: number
  cachedBytes: number
}

/** A folder's records: file name → where its record is. */
export type FolderRecords = Map<string, number>

/** Content hashes vouched for by stat (a tree snapshot's records). */
export interface HashRecords {
  /** One folder's records, by name; undefined when there are none. */
  folder(path: string): FolderRecords | undefined
  /** The recorded content hash when every recorded stat field still matches `entry`, else undefined. */
  lookup(records: FolderRecords, name: string, entry: Entry): Uint8Array | undefined
}

/** A tree snapshot and what moved since it was written: folders that did not move are not listed again. */
export interface Recorded {
  snapshot: Snapshot
  check: SnapshotCheck
}

export class Scanner {
  readonly counters: ScanCounters = {cachedBytes: 0, cachedFiles: 0, entries: 0}
  /** Recorded folders not visited, by path: nothing in their subtree moved (their summary is recorded). */
  readonly untouched = new Map<string, FolderTask>()
  readonly #walker: ContextWalker
  readonly #filter: ContextFilter
  readonly #cache: HashRecords | undefined
  readonly #recorded: Recorded | undefined
  /** Where each queued file's result goes, by job id. */
  readonly #queuedListings: HashedListing[] = []
  readonly #queuedIndexes: number[] = []
  readonly #vanished = new Map<HashedListing, Set<number>>()

  constructor(
    filter: ContextFilter,
    cache: HashRecords | undefined,
    options: {root: string; explain?: boolean; recorded?: Recorded},
  ) {
    this.#walker = new ContextWalker(options.root, filter, options)
    this.#filter = filter
    this.#cache = cache
    this.#recorded = options.recorded
  }

  /**
   * Lists folders from `stack` (depth first) into `out` until the stack is empty or the budget is spent;
   * files the cache cannot vouch for go to `pool`, whose results must come back through `hashed`.
   */
  run(stack: FolderTask[], budget: ScanBudget, out: HashedListing[], pool: HashPool): void {
    const start = this.counters.entries
    for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
      if (
        this.#recorded !== undefined &&
        !this.#recorded.check.touched.has(task.path) &&
        this.#recorded.snapshot.summary(task.path) !== undefined
      ) {
        this.untouched.set(task.path, task)
        continue
      }

      const {listing, subfolders} = this.#list(task, pool)
      out.push(listing)
      for (let index = subfolders.length - 1; index >= 0; index--) stack.push(subfolders[index]!)
      if (this.counters.entries - start >= budget.entries) return
    }
  }

  /** The hash pool's results: the entry with the stat that goes with the content read, and its sha256. */
  readonly hashed: HashedCallback = (id, entry, hashes, offset) => {
    const listing = this.#queuedListings[id]!
    const index = this.#queuedIndexes[id]!
    if (entry === undefined) {
      if (!this.#vanished.has(listing)) this.#vanished.set(listing, new Set())
      this.#vanished.get(listing)!.add(index)
      return
    }

    listing.entries[index] = entry
    listing.hashes.set(hashes.subarray(offset, offset + SHA256_BYTES), index * SHA256_BYTES)
  }

  /** Once every file is hashed: files deleted before they could be read leave their listings (they are not in the context now). */
  settle(): void {
    for (const [listing, drop] of this.#vanished) removeVanished(listing, drop)
  }

  #list(task: FolderTask, pool: HashPool): {listing: HashedListing; subfolders: FolderTask[]} {
    const recorded = this.#recorded && this.#recorded.snapshot.listing(task.path, this.#recorded.check)
    const listed = (recorded && this.#fromRecord(task, recorded)) ?? this.#fromDisk(task)
    const {entries} = listed.listing
    // Looked up on the first file the listing cannot vouch for: most folders have none.
    let records: FolderRecords | undefined | null = null
    const nameStart = task.path === '' ? 0 : task.path.length + 1
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!
      if (entry.type !== 'file') continue
      if (listed.hashed?.[index] === 1) {
        this.counters.cachedFiles++
        this.counters.cachedBytes += entry.size
        continue
      }

      if (records === null) records = this.#cache?.folder(task.path)
      const cached = records && this.#cache!.lookup(records, entry.path.slice(nameStart), entry)
      if (cached) {
        listed.listing.hashes.set(cached, index * SHA256_BYTES)
        this.counters.cachedFiles++
        this.counters.cachedBytes += entry.size
      } else {
        const id = pool.add({mtimeNs: entry.mtimeNs, rel: entry.path, size: entry.size})
        this.#queuedListings[id] = listed.listing
        this.#queuedIndexes[id] = index
      }
    }

    this.counters.entries += entries.length
    return listed
  }

  #fromDisk(task: FolderTask): {listing: HashedListing; subfolders: FolderTask[]; hashed?: Uint8Array} {
    const {listing: folder, subfolders} = this.#walker.listFolder(task)
    return {listing: {...folder, hashes: new Uint8Array(folder.entries.length * SHA256_BYTES)}, subfolders}
  }

  /**
   * A folder whose stat did not move, from the snapshot: entries whose stat moved are stat'ed again (and
   * files among them hashed again). `hashed` marks the files whose recorded hash holds. Undefined when an
   * entry is gone or changed type after all: the folder is then listed from disk.
   */
  #fromRecord(
    task: FolderTask,
    recorded: RecordedListing,
  ): {listing: HashedListing; subfolders: FolderTask[]; hashed: Uint8Array} | undefined {
    const {listing, subfolders} = recordedFolder(task, recorded, this.#filter)
    const {movedFolders} = this.#recorded!.check
    const hashed = new Uint8Array(listing.entries.length)
    for (let index = 0; index < listing.entries.length; index++) {
      const entry = listing.entries[index]!
      if (recorded.moved[index] === 0 && !(entry.type === 'dir' && movedFolders.has(entry.path))) {
        hashed[index] = 1
        continue
      }

      const fresh = this.#walker.entryAt(entry.path)
      if (fresh === undefined || fresh.type !== entry.type) return undefined
      listing.entries[index] = fresh
    }

    return {hashed, listing, subfolders}
  }
}

/** A recorded listing as the walk makes one: the filter decides each folder again for its subfolders and conditional flags. */
export function recordedFolder(
  task: FolderTask,
  recorded: RecordedListing,
  filter: ContextFilter,
): {listing: HashedListing; subfolders: FolderTask[]} {
  const conditional = new Uint8Array(recorded.entries.length)
  const subfolders: FolderTask[] = []
  for (const [index, entry] of recorded.entries.entries()) {
    if (entry.type !== 'dir') continue
    const decision = filter.decide(entry.path, true, task.decision)
    conditional[index] = decision.excluded ? 1 : 0
    subfolders.push({decision, path: entry.path})
  }

  const listing = {
    conditional,
    entries: recorded.entries,
    excluded: [],
    hashes: recorded.hashes,
    path: task.path,
    skipped: [],
  }
  return {listing, subfolders}
}

/** Every recorded listing in the subtrees of `roots` (the whole context by default), in which nothing moved. */
export function recordedListings(
  recorded: Recorded,
  filter: ContextFilter,
  roots: readonly FolderTask[] = [{path: ''}],
): Map<string, HashedListing> {
  const listings = new Map<string, HashedListing>()
  const stack: FolderTask[] = [...roots]
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    const found = recorded.snapshot.listing(task.path, recorded.check)
    if (found === undefined) throw new Error(`the tree snapshot has no folder ${task.path}`)
    const {listing, subfolders} = recordedFolder(task, found, filter)
    listings.set(task.path, listing)
    stack.push(...subfolders)
  }

  return listings
}

function removeVanished(listing: HashedListing, drop: Set<number>): void {
  const keep = listing.entries.map((_, index) => index).filter((index) => !drop.has(index))
  const hashes = new Uint8Array(keep.length * SHA256_BYTES)
  keep.forEach((from, to) =>
    hashes.set(listing.hashes.subarray(from * SHA256_BYTES, (from + 1) * SHA256_BYTES), to * SHA256_BYTES),
  )
  listing.conditional = Uint8Array.from(keep, (index) => listing.conditional[index]!)
  listing.entries = keep.map((index) => listing.entries[index]!)
  listing.hashes = hashes
}
