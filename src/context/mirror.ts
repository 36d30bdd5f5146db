/**
 * The build context as a folder holding exactly the hashed entries, kept in kudev's cache for builders that
 * sync a folder incrementally (BuildKit sends only what changed since its last build of the same folder).
 * Files are hard links to the project's files (a copy where the cache is on another file system), so
 * keeping the folder current costs one link per file that changed, and no space.
 *
 *   <cache>/context/<context key>/files/         the entries
 *   <cache>/context/<context key>/dockerfile/    Dockerfile (a copy) and Dockerfile.dockerignore
 *   <cache>/context/<context key>/manifest.json  what files/ held after the last sync of every entry
 *   <cache>/context/<context key>/journal        what syncs since changed, one JSON array a line
 *   <cache>/context/<context key>/state.json     present only while manifest and journal describe files/
 *   <cache>/context/<context key>/lock           the pid of the kudev building from it
 *
 * A sync that knows what moved since the tree snapshot the folder holds (a watch cycle, a hash that found
 * few changes) touches only the folders listed again and appends to the journal; every other sync compares
 * all entries with manifest and journal, and writes the manifest anew.
 */
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'

import {cacheDir, cacheKey} from '../hash/cache-file.js'
import type {MovedSince} from '../hash/index.js'
import {compareNames, type Entry} from './entries.js'

const MANIFEST_VERSION = 3
/** Past this many journal lines, the next sync compares every entry and starts a new manifest. */
const JOURNAL_LIMIT = 10_000

/**
 * What a mirrored path holds, as one string to compare: its type, permission bits, and the file it links to
 * or the link's target.
 */
type Held = string

/** Paths and what each holds as two lists: tens of thousands of entries parse and compare fastest so. */
interface Manifest {
  version: number
  root: string
  paths: string[]
  held: Held[]
}

/** A journal line: a path and what it holds now, or null when it is gone with all below it. */
type JournalLine = [string, Held | null]

interface State {
  /** The context digest of the entries files/ holds (HashResult.contextDigest). */
  contextDigest: string
  journalLines: number
}

export interface MirrorOptions {
  root: string
  /** As hashed, a folder before what it holds: asked for only when the folder cannot follow `moved`. */
  entries(): readonly Entry[]
  /** The entries' context digest (HashResult.contextDigest): recorded, so a later sync can follow what moved since. */
  contextDigest: string
  /** What moved since an earlier tree snapshot (HashResult.moved). */
  moved?: MovedSince
  /** The Dockerfile's bytes, as hashed. */
  dockerfile: Buffer
  env?: NodeJS.ProcessEnv
}

export interface Mirror {
  root: string
  dockerfile: string
  /** What the sync did, for -v. */
  linked: number
  removed: number
  /** Whether it followed what moved (only the folders listed again) or compared every entry. */
  followed: boolean
  /** Lets the next build use the folder. */
  release(): void
}

/** The folder of a context's mirror. */
export function mirrorFolder(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'context', cacheKey(contextRoot))
}

/**
 * Brings the mirror up to date with the hashed entries and holds it until release(); undefined when another
 * live kudev process holds it.
 */
export function syncMirror(options: MirrorOptions): Mirror | undefined {
  const folder = mirrorFolder(options.root, options.env)
  mkdirSync(folder, {recursive: true})
  const lock = path.join(folder, 'lock')
  if (!acquire(lock)) return undefined
  try {
    const files = path.join(folder, 'files')
    const paths = {
      journal: path.join(folder, 'journal'),
      manifest: path.join(folder, 'manifest.json'),
      state: path.join(folder, 'state.json'),
    }
    const state = readState(paths.state)
    // A sync cut short leaves no state, so the next one starts over instead of trusting a half-done folder.
    rmSync(paths.state, {force: true})
    const previous =
      state !== undefined &&
      state.journalLines < JOURNAL_LIMIT &&
      options.moved !== undefined &&
      // Any snapshot of the same context digest records the same paths, types, modes and contents (only
      // stats may differ), so its listings say what the folder holds.
      state.contextDigest === options.moved.contextDigest
        ? followable(options.moved)
        : undefined
    let counts: {linked: number; removed: number; journalLines: number}
    if (state !== undefined && previous !== undefined) {
      const followed = followMoved(options, files, options.moved!, previous)
      if (followed.journal.length > 0)
        appendFileSync(paths.journal, followed.journal.map((line) => `${JSON.stringify(line)}\n`).join(''))
      counts = {...followed, journalLines: state.journalLines + followed.journal.length}
    } else {
      const before = state && readManifest(paths.manifest, paths.journal, options.root)
      if (!before) removeMirrored(files)
      const applied = apply(options.entries(), options.root, files, before ?? new Map())
      const manifest: Manifest = {
        held: [...applied.held.values()],
        paths: [...applied.held.keys()],
        root: options.root,
        version: MANIFEST_VERSION,
      }
      writeAtomically(paths.manifest, JSON.stringify(manifest))
      rmSync(paths.journal, {force: true})
      counts = {...applied, journalLines: 0}
    }

    const next: State = {contextDigest: options.contextDigest, journalLines: counts.journalLines}
    writeAtomically(paths.state, JSON.stringify(next))
    const dockerfile = writeDockerfile(path.join(folder, 'dockerfile'), options.dockerfile)
    return {
      dockerfile,
      followed: previous !== undefined,
      linked: counts.linked,
      release: () => rmSync(lock, {force: true}),
      removed: counts.removed,
      root: files,
    }
  } catch (error) {
    rmSync(lock, {force: true})
    throw error
  }
}

/**
 * Following what moved takes folders as their listings give them: not when a folder there is in the context
 * only for what a `!` rule re-includes below it (its place depends on its whole subtree), nor when a folder
 * is closed to its owner (the full sync opens and closes those). When it can, each folder's entries as the
 * snapshot records them, read once here for followMoved.
 */
function followable(moved: MovedSince): Map<string, readonly Entry[]> | undefined {
  const closed = (entry: Entry) => entry.type === 'dir' && (entry.mode & 0o700) !== 0o700
  const previous = new Map<string, readonly Entry[]>()
  for (const [folder, listing] of moved.folders) {
    if (listing.conditional.includes(1) || listing.entries.some(closed)) return undefined
    const before = moved.before(folder) ?? []
    if (before.some(closed)) return undefined
    previous.set(folder, before)
  }

  return previous
}

/** Brings the folders listed again up to date, parents first; what they no longer hold goes. */
function followMoved(
  options: MirrorOptions,
  files: string,
  moved: MovedSince,
  previous: ReadonlyMap<string, readonly Entry[]>,
) {
  const journal: JournalLine[] = []
  let linked = 0
  let removed = 0
  mkdirSync(files, {recursive: true})
  for (const folder of [...moved.folders.keys()].sort(compareNames)) {
    const before = new Map(previous.get(folder)!.map((entry) => [entry.path, wanted(entry)]))
    for (const entry of moved.folders.get(folder)!.entries) {
      const want = wanted(entry)
      const had = before.get(entry.path)
      before.delete(entry.path)
      if (had === want) continue
      place(entry, had, options.root, files)
      journal.push([entry.path, want])
      linked += 1
    }

    for (const gone of before.keys()) {
      removeMirrored(path.join(files, gone))
      journal.push([gone, null])
      removed += 1
    }
  }

  return {journal, linked, removed}
}

function apply(entries: readonly Entry[], root: string, files: string, before: ReadonlyMap<string, Held>) {
  const held = new Map<string, Held>()
  let linked = 0
  mkdirSync(files, {recursive: true})
  // A folder the project keeps closed to its owner (say 0555) is open to kudev while it syncs, then closed again.
  const closed = (mode: number) => (mode & 0o700) !== 0o700
  for (const [relative, had] of before) {
    if (!had.startsWith('dir ')) continue
    const mode = Number.parseInt(had.slice(4), 8)
    const folder = path.join(files, relative)
    if (closed(mode) && existsSync(folder)) chmodSync(folder, mode | 0o700)
  }

  for (const entry of entries) {
    const want = wanted(entry)
    held.set(entry.path, want)
    const had = before.get(entry.path)
    if (had === want) continue
    place(entry, had, root, files)
    linked += 1
  }

  // Deepest first, so a folder is empty by the time it goes (rmSync copes either way).
  const gone = [...before.keys()].filter((relative) => !held.has(relative)).sort((a, b) => b.length - a.length)
  for (const relative of gone) removeMirrored(path.join(files, relative))
  for (const entry of entries)
    if (entry.type === 'dir' && closed(entry.mode)) chmodSync(path.join(files, entry.path), entry.mode)
  return {held, linked, removed: gone.length}
}

/** Makes `entry` what the mirror holds at its path, where it held `had`. */
function place(entry: Entry, had: Held | undefined, root: string, files: string): void {
  const target = path.join(files, entry.path)
  if (had !== undefined && !(had.startsWith('dir ') && entry.type === 'dir')) removeMirrored(target)
  if (entry.type === 'dir') {
    mkdirSync(target, {recursive: true})
    chmodSync(target, entry.mode | 0o700)
  } else if (entry.type === 'symlink') symlinkSync(entry.linkTarget!, target)
  else linkOrCopy(path.join(root, entry.path), target, entry.mode)
}

/** Removes a mirrored path and all below it, opening folders a project kept closed to its owner on the way. */
function removeMirrored(target: string): void {
  try {
    rmSync(target, {force: true, recursive: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw error
    openFolders(target)
    rmSync(target, {force: true, recursive: true})
  }
}

function openFolders(folder: string): void {
  if (!lstatSync(folder).isDirectory()) return
  chmodSync(folder, 0o700)
  for (const name of readdirSync(folder)) openFolders(path.join(folder, name))
}

/**
 * A file is held as the file it was linked or copied from, as hashed: the same inode, time and size mean
 * the same content (a copy must follow an edit in place; a link already has).
 */
function wanted(entry: Entry): Held {
  if (entry.type === 'symlink') return `symlink ${entry.linkTarget!}`
  if (entry.type === 'dir') return `dir ${entry.mode.toString(8)}`
  return `file ${entry.mode.toString(8)} ${entry.dev}:${entry.ino}:${entry.mtimeNs}:${entry.size}`
}

function linkOrCopy(source: string, target: string, mode: number): void {
  try {
    linkSync(source, target)
  } catch (error) {
    // Another file system, or links refused (fs.protected_hardlinks): a copy serves as well.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error
    copyFileSync(source, target)
    chmodSync(target, mode)
  }
}

/** The Dockerfile beside an ignore file that excludes nothing: the folder already holds only what was hashed. */
function writeDockerfile(folder: string, bytes: Buffer): string {
  mkdirSync(folder, {recursive: true})
  const file = path.join(folder, 'Dockerfile')
  writeAtomically(file, bytes)
  writeAtomically(
    `${file}.dockerignore`,
    '# Written by kudev: the context folder holds exactly the files kudev hashed, so nothing is excluded.\n',
  )
  return file
}

/** The manifest with the journal's lines applied in order. */
function readManifest(file: string, journalFile: string, root: string): Map<string, Held> | undefined {
  let held: Map<string, Held>
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
    if (manifest.version !== MANIFEST_VERSION || manifest.root !== root) return undefined
    held = new Map(manifest.paths.map((relative, i) => [relative, manifest.held[i]!]))
  } catch {
    return undefined
  }

  let lines: JournalLine[]
  try {
    lines = readFileSync(journalFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as JournalLine)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return held
    return undefined
  }

  for (const [relative, now] of lines) {
    if (now !== null) {
      held.set(relative, now)
      continue
    }

    held.delete(relative)
    const below = `${relative}/`
    for (const key of held.keys()) if (key.startsWith(below)) held.delete(key)
  }

  return held
}

function readState(file: string): State | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as State
    return typeof state.journalLines === 'number' && typeof state.contextDigest === 'string' ? state : undefined
  } catch {
    return undefined
  }
}

function writeAtomically(file: string, data: string | Buffer): void {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, data)
  renameSync(temp, file)
}

/** Takes the lock file, or a stale one whose process is gone; false when a live process holds it. */
function acquire(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), {flag: 'wx'})
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (holderAlive(lock)) return false
      unlinkSync(lock)
    }
  }

  return false
}

function holderAlive(lock: string): boolean {
  const pid = Number(readFileSync(lock, 'utf8'))
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
