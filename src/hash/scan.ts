/**
 * The walk with content hashes: list folders (src/context/walk.ts) and take each file's hash from the stat
 * cache when its stat still matches; queue the others for the hash pool (src/hash/files.ts), whose
 * results come back through `hashed`.
 */
import type {ContextFilter} from '../context/filter.js'
import {ContextWalker, type FolderListing, type FolderTask} from '../context/walk.js'
import type {HashedCallback, HashPool} from './files.js'
import type {StatCache} from './stat-cache.js'

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
  /** Files whose hash came from the stat cache, and their bytes. */
  cachedFiles: number
  cachedBytes: number
}

export class Scanner {
  readonly counters: ScanCounters = {cachedBytes: 0, cachedFiles: 0, entries: 0}
  readonly #walker: ContextWalker
  readonly #cache: StatCache | undefined
  /** Where each queued file's result goes, by job id. */
  readonly #queuedListings: HashedListing[] = []
  readonly #queuedIndexes: number[] = []
  readonly #vanished = new Map<HashedListing, Set<number>>()

  constructor(filter: ContextFilter, cache: StatCache | undefined, options: {root: string; explain?: boolean}) {
    this.#walker = new ContextWalker(options.root, filter, options)
    this.#cache = cache
  }

  /**
   * Lists folders from `stack` (depth first) into `out` until the stack is empty or the budget is spent;
   * files the cache cannot vouch for go to `pool`, whose results must come back through `hashed`.
   */
  run(stack: FolderTask[], budget: ScanBudget, out: HashedListing[], pool: HashPool): void {
    const start = this.counters.entries
    for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
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
    const {listing: folder, subfolders} = this.#walker.listFolder(task)
    const listing: HashedListing = {...folder, hashes: new Uint8Array(folder.entries.length * SHA256_BYTES)}
    const {entries, hashes} = listing
    const records = this.#cache?.folder(listing.path)
    const nameStart = listing.path === '' ? 0 : listing.path.length + 1
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!
      if (entry.type !== 'file') continue
      const cached = records && this.#cache!.lookup(records, entry.path.slice(nameStart), entry)
      if (cached) {
        hashes.set(cached, index * SHA256_BYTES)
        this.counters.cachedFiles++
        this.counters.cachedBytes += entry.size
      } else {
        const id = pool.add({mtimeNs: entry.mtimeNs, rel: entry.path, size: entry.size})
        this.#queuedListings[id] = listing
        this.#queuedIndexes[id] = index
      }
    }

    this.counters.entries += entries.length
    return {listing, subfolders}
  }
}

function removeVanished(listing: HashedListing, drop: Set<number>): void {
  const keep = listing.entries.map((_, index) => index).filter((index) => !drop.has(index))
  const hashes = new Uint8Array(keep.length * SHA256_BYTES)
  keep.forEach((from, to) => hashes.set(listing.hashes.subarray(from * SHA256_BYTES, (from + 1) * SHA256_BYTES), to * SHA256_BYTES))
  listing.conditional = Uint8Array.from(keep, (index) => listing.conditional[index]!)
  listing.entries = keep.map((index) => listing.entries[index]!)
  listing.hashes = hashes
}
