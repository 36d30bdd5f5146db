import type {BigIntStats} from 'node:fs'

export type EntryType = 'file' | 'dir' | 'symlink'

/** One path of the build context, as `COPY . /dst` would see it. */
export interface Entry {
  /** POSIX path relative to the context root, no leading `./`. */
  path: string
  type: EntryType
  /** Permission bits with setuid, setgid and sticky (`mode & 0o7777`): `chmod +x` changes the image. */
  mode: number
  size: number
  mtimeNs: bigint
  ctimeNs: bigint
  ino: bigint
  dev: bigint
  /** A symlink's target text; links are never followed. */
  linkTarget?: string
}

/** The entry type of an lstat result, or undefined for what Docker does not copy (sockets, FIFOs, devices). */
export function entryType(stats: BigIntStats): EntryType | undefined {
  if (stats.isFile()) return 'file'
  if (stats.isDirectory()) return 'dir'
  if (stats.isSymbolicLink()) return 'symlink'
  return undefined
}

/** Names what `entryType` refuses, for the warning that says it was skipped. */
export function describeSpecial(stats: BigIntStats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'not a file, folder or symlink'
}

export function makeEntry(path: string, type: EntryType, stats: BigIntStats, linkTarget?: string): Entry {
  const entry: Entry = {
    ctimeNs: stats.ctimeNs,
    dev: stats.dev,
    ino: stats.ino,
    mode: Number(stats.mode & 0o7777n),
    mtimeNs: stats.mtimeNs,
    path,
    size: Number(stats.size),
    type,
  }
  if (linkTarget !== undefined) entry.linkTarget = linkTarget
  return entry
}

/** Sibling order everywhere (walk, digest, --list): UTF-16 code units, JavaScript's default, the same on every host. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}
