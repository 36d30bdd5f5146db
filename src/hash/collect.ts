/**
 * Lists and hashes the whole build context. The walk runs in the main thread, in slices so the event loop
 * can turn; files the tree snapshot cannot vouch for go to the hash pool (src/hash/files.ts), whose worker
 * threads start when there is much to read and hash while the walk goes on.
 *
 * The walk itself stays in one thread. Measured on the 45,000-file corpus: two threads each walking half
 * took as long as one thread walking all of it (lstat allocates a Stats object and its Dates per call, and
 * two isolates allocating at that rate in one process slow each other down; two processes do not), a
 * worker costs 50 to 100 ms of CPU to start, and passing listings between threads costs more than listing.
 */
import {setImmediate as nextTurn} from 'node:timers/promises'

import type {ContextFilter} from '../context/filter.js'
import type {FolderTask} from '../context/walk.js'
import {HashPool} from './files.js'
import {type HashedListing, type HashRecords, type Recorded, Scanner, type ScanBudget} from './scan.js'

const SLICE: ScanBudget = {entries: 1000}

export interface Progress {
  /** Entries listed. */
  entries: number
  /** Bytes read and hashed, plus the bytes of files the tree snapshot vouched for. */
  bytes: number
}

export interface CollectOptions {
  root: string
  filter: ContextFilter
  /** Content hashes by stat (the tree snapshot). */
  cache?: HashRecords
  /** A tree snapshot and what moved since: folders that did not move are taken from it. */
  recorded?: Recorded
  /** Collect excluded paths too. */
  explain?: boolean
  /** Hashing worker threads besides the main thread; default one per extra core, at most 3. */
  workers?: number
  onProgress?: (progress: Progress) => void
}

export interface Collected {
  /** Every folder listed, by path. */
  listings: Map<string, HashedListing>
  /** Recorded folders not visited because nothing in their subtree moved, by path. */
  untouched: Map<string, FolderTask>
  cachedFiles: number
  /** Files read, and the bytes read (a file read twice because it changed counts twice). */
  hashedFiles: number
  hashedBytes: number
  /** Worker threads that helped. */
  workers: number
}

export async function collectContext(options: CollectOptions): Promise<Collected> {
  let hashedBytes = 0
  const report = () =>
    options.onProgress?.({bytes: scanner.counters.cachedBytes + hashedBytes, entries: scanner.counters.entries})
  const scanner = new Scanner(options.filter, options.cache, {
    explain: options.explain,
    recorded: options.recorded,
    root: options.root,
  })
  const pool = new HashPool(options.root, {
    onBytes(bytes) {
      hashedBytes += bytes
      report()
    },
    onHashed: scanner.hashed,
    workers: options.workers,
  })
  const out: HashedListing[] = []
  const stack: FolderTask[] = [{path: ''}]
  try {
    while (stack.length > 0) {
      scanner.run(stack, SLICE, out, pool)
      report()
      pool.pump()
      // Lets worker messages in, and a signal handler run, during a long walk.
      if (stack.length > 0) await nextTurn()
    }

    await pool.drain()
  } finally {
    await pool.close()
  }

  scanner.settle()
  return {
    cachedFiles: scanner.counters.cachedFiles,
    hashedBytes,
    hashedFiles: pool.files,
    listings: new Map(out.map((listing) => [listing.path, listing])),
    untouched: scanner.untouched,
    workers: pool.workers,
  }
}
