/**
 * The build context walk, as BuildKit's fsutil walker does it: symlinks are entries, never followed;
 * excluded folders are skipped unless a `!` rule may re-include something below them, and then the
 * excluded folder is sent only when something below it is (with its real stat, before its children).
 *
 * Sync fs on purpose: readdirSync + lstatSync walk a tree several times faster than promise fs.
 */
import type {BigIntStats} from 'node:fs'
import {lstatSync, readdirSync, readlinkSync} from 'node:fs'
import path from 'node:path'

import {KudevError} from '../output/errors.js'
import {compareNames, describeSpecial, type Entry, entryType, makeEntry} from './entries.js'
import type {ContextFilter, Decision, ExclusionReason} from './filter.js'

export interface FolderTask {
  /** POSIX path relative to the context root, '' for the root. */
  path: string
  /** The filter's decision for the folder; undefined for the root. */
  decision?: Decision
}

/** An excluded path and the rule that excluded it (collected for `kudev hash --explain`). */
export interface ExcludedPath {
  path: string
  isDir: boolean
  reason?: ExclusionReason
  /** Regular files and their bytes at or below the path. */
  files: number
  bytes: number
}

/** A socket, FIFO or device: Docker does not copy them, so neither does kudev. */
export interface SkippedPath {
  path: string
  description: string
}

/** One folder's children that are in the context, sorted by name. */
export interface FolderListing {
  path: string
  entries: Entry[]
  /**
   * 1 where the entry is an excluded folder listed only because a `!` rule may re-include something
   * below it: it is in the context only if something below it is (see orderListings).
   */
  conditional: Uint8Array
  excluded: ExcludedPath[]
  skipped: SkippedPath[]
}

export interface WalkerOptions {
  /** Collect every excluded path with its rule, file count and bytes (slower: excluded folders are measured). */
  explain?: boolean
}

export class ContextWalker {
  readonly #root: string
  readonly #filter: ContextFilter
  readonly #explain: boolean

  constructor(root: string, filter: ContextFilter, options: WalkerOptions = {}) {
    this.#root = path.resolve(root)
    this.#filter = filter
    this.#explain = options.explain ?? false
  }

  /** Lists one folder; `subfolders` are the folders to list next (kept ones, and excluded ones to descend into). */
  listFolder(task: FolderTask): {listing: FolderListing; subfolders: FolderTask[]} {
    const dir = this.#absolute(task.path)
    const parent = task.decision
    let names
    try {
      names = readdirSync(dir, {withFileTypes: true})
    } catch (error) {
      throw unreadable(task.path === '' ? '.' : task.path, dir, error, 'folder')
    }

    names.sort((a, b) => compareNames(a.name, b.name))
    const entries: Entry[] = []
    const conditional: number[] = []
    const excluded: ExcludedPath[] = []
    const skipped: SkippedPath[] = []
    const subfolders: FolderTask[] = []
    for (const dirent of names) {
      const rel = task.path === '' ? dirent.name : `${task.path}/${dirent.name}`
      const file = `${dir}/${dirent.name}`
      let decision = this.#filter.decide(rel, dirent.isDirectory(), parent)
      if (decision.excluded && !(dirent.isDirectory() && this.#filter.mustDescend(rel, decision))) {
        if (this.#explain)
          excluded.push({isDir: dirent.isDirectory(), path: rel, reason: decision.reason, ...measure(file)})
        continue
      }

      const stats = lstatOrVanished(rel, file)
      if (stats === undefined) continue
      const type = entryType(stats)
      if (type === undefined) {
        skipped.push({description: describeSpecial(stats), path: rel})
        continue
      }

      // Replaced by a folder (or by a file) between readdir and lstat: decide again with the real type.
      if ((type === 'dir') !== dirent.isDirectory()) {
        decision = this.#filter.decide(rel, type === 'dir', parent)
        if (decision.excluded && !(type === 'dir' && this.#filter.mustDescend(rel, decision))) continue
      }

      entries.push(makeEntry(rel, type, stats, type === 'symlink' ? readLink(rel, file) : undefined))
      conditional.push(decision.excluded ? 1 : 0)
      if (type === 'dir') subfolders.push({decision, path: rel})
    }

    return {
      listing: {conditional: Uint8Array.from(conditional), entries, excluded, path: task.path, skipped},
      subfolders,
    }
  }

  /** A fresh entry for `rel`; undefined when it is gone or is no longer a file, folder or symlink. */
  entryAt(rel: string): Entry | undefined {
    const file = this.#absolute(rel)
    const stats = lstatOrVanished(rel, file)
    const type = stats && entryType(stats)
    if (stats === undefined || type === undefined) return undefined
    return makeEntry(rel, type, stats, type === 'symlink' ? readLink(rel, file) : undefined)
  }

  #absolute(rel: string): string {
    return rel === '' ? this.#root : `${this.#root}/${rel}`
  }
}

/**
 * Visits the entries of the context in order: depth first, siblings by name. A conditional folder is
 * visited just before the first entry below it that is visited, and not at all when there is none.
 */
export function orderListings<L extends FolderListing>(
  listings: ReadonlyMap<string, L>,
  visit: (listing: L, index: number) => void,
): void {
  const pending: Array<[L, number]> = []
  const walk = (folder: string) => {
    const listing = listings.get(folder)
    if (listing === undefined) return
    for (let index = 0; index < listing.entries.length; index++) {
      const entry = listing.entries[index]!
      if (listing.conditional[index] === 1) {
        const depth = pending.length
        pending.push([listing, index])
        walk(entry.path)
        pending.length = Math.min(pending.length, depth)
        continue
      }

      for (const [parent, parentIndex] of pending) visit(parent, parentIndex)
      pending.length = 0
      visit(listing, index)
      if (entry.type === 'dir') walk(entry.path)
    }
  }

  walk('')
}

export interface WalkResult {
  /** In context order (orderListings). */
  entries: Entry[]
  excluded: ExcludedPath[]
  skipped: SkippedPath[]
}

/** The whole context in one thread: the entries `COPY . /dst` would see, in order. */
export function walkContext(root: string, filter: ContextFilter, options: WalkerOptions = {}): WalkResult {
  const walker = new ContextWalker(root, filter, options)
  const listings = new Map<string, FolderListing>()
  const stack: FolderTask[] = [{path: ''}]
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    const {listing, subfolders} = walker.listFolder(task)
    listings.set(listing.path, listing)
    stack.push(...subfolders)
  }

  const entries: Entry[] = []
  orderListings(listings, (listing, index) => entries.push(listing.entries[index]!))
  const all = [...listings.values()]
  return {
    entries,
    excluded: all.flatMap((listing) => listing.excluded),
    skipped: all.flatMap((listing) => listing.skipped),
  }
}

/** Files and bytes at or below an excluded path; what cannot be read is not counted. */
function measure(file: string): {files: number; bytes: number} {
  const total = {bytes: 0, files: 0}
  const add = (current: string) => {
    let stats
    try {
      stats = lstatSync(current)
    } catch {
      return
    }

    if (stats.isFile()) {
      total.files++
      total.bytes += stats.size
    } else if (stats.isDirectory()) {
      let names: string[]
      try {
        names = readdirSync(current)
      } catch {
        return
      }

      for (const name of names) add(`${current}/${name}`)
    }
  }

  add(file)
  return total
}

function lstatOrVanished(rel: string, file: string): BigIntStats | undefined {
  try {
    return lstatSync(file, {bigint: true})
  } catch (error) {
    // Deleted since readdir: it is not in the context any more. A name that is not valid UTF-8 also reads
    // back as missing (Node decodes it lossily), and silently leaving it out would make a wrong hash.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !rel.includes('\uFFFD')) return undefined
    throw unreadable(rel, file, error, 'file')
  }
}

function readLink(rel: string, file: string): string {
  try {
    return readlinkSync(file)
  } catch (error) {
    throw unreadable(rel, file, error, 'symlink')
  }
}

/** The error for a path kudev cannot read: Docker would fail on it too. */
export function unreadable(rel: string, file: string, error: unknown, what: string): KudevError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error)
  let reason = code
  if (code === 'EACCES' || code === 'EPERM') reason = 'permission denied'
  else if (code === 'ENOENT' && rel.includes('\uFFFD')) reason = 'its name is not valid UTF-8'
  return new KudevError('config', `cannot read ${what} ${printable(file)} in the build context (${reason})`, {
    cause: error,
    data: {path: file},
    hint: 'make it readable by the current user, or exclude it in .dockerignore',
  })
}

/** Paths with newlines or other control characters are quoted, so a message stays one line. */
export function printable(file: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001F\u007F]/.test(file) ? JSON.stringify(file) : file
}
