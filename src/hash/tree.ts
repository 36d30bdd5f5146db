/**
 * The context digest from the listings, bottom-up (the Merkle tree of src/hash/digest.ts): each folder's
 * digest, whether it is in the context, and its subtree's totals. Folders not listed this run (their
 * subtree did not move) come with their recorded summary from the tree snapshot.
 */
import {FolderDigest} from './digest.js'
import {type HashedListing, SHA256_BYTES} from './scan.js'

/** What a subtree holds in the context. */
export interface Totals {
  entries: number
  files: number
  dirs: number
  symlinks: number
  /** Bytes of the files. */
  bytes: number
}

export interface FolderSummary {
  /** The folder digest, 32 bytes. */
  digest: Uint8Array
  /**
   * It has an entry in the context. An excluded folder that the walk listed only because a `!` rule might
   * bring back something below it is in the context only then.
   */
  present: boolean
  totals: Totals
}

/** Every listed folder's summary, the root ('') among them. */
export function summarizeTree(
  listings: ReadonlyMap<string, HashedListing>,
  recorded?: (folder: string) => FolderSummary | undefined,
): Map<string, FolderSummary> {
  const summaries = new Map<string, FolderSummary>()
  const visit = (folder: string): FolderSummary => {
    const listing = listings.get(folder)
    if (listing === undefined) {
      const found = recorded?.(folder)
      if (found === undefined) throw new Error(`folder ${folder || '.'} was neither listed nor recorded`)
      return found
    }

    const digest = new FolderDigest()
    const totals: Totals = {bytes: 0, dirs: 0, entries: 0, files: 0, symlinks: 0}
    let direct = 0
    for (const [index, entry] of listing.entries.entries()) {
      if (entry.type === 'dir') {
        const child = visit(entry.path)
        if (listing.conditional[index] === 1 && !child.present) continue
        digest.add(entry, child.digest)
        totals.dirs++
        for (const key of ['entries', 'files', 'dirs', 'symlinks', 'bytes'] as const) totals[key] += child.totals[key]
      } else if (entry.type === 'file') {
        digest.add(entry, listing.hashes, index * SHA256_BYTES)
        totals.files++
        totals.bytes += entry.size
      } else {
        digest.add(entry)
        totals.symlinks++
      }

      totals.entries++
      direct++
    }

    const summary = {digest: digest.finish(), present: direct > 0, totals}
    summaries.set(folder, summary)
    return summary
  }

  visit('')
  return summaries
}
