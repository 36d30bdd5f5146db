/**
 * The build context as a folder holding exactly the hashed entries, kept in kudev's cache for builders that
 * sync a folder incrementally (BuildKit sends only what changed since its last build of the same folder).
 * Files are hard links to the project's files (a copy where the cache is on another file system), so
 * keeping the folder current costs one link per file that changed, and no space.
 *
 *   <cache>/context/<context key>/files/         the entries
 *   <cache>/context/<context key>/dockerfile/    Dockerfile (a copy) and Dockerfile.dockerignore
 *   <cache>/context/<context key>/manifest.json  what files/ holds, written after each sync
 *   <cache>/context/<context key>/lock           the pid of the kudev building from it
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'

import {cacheDir, cacheKey} from '../hash/cache-file.js'
import type {Entry} from './entries.js'

const MANIFEST_VERSION = 2

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

export interface MirrorOptions {
  root: string
  /** As hashed, a folder before what it holds. */
  entries: readonly Entry[]
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
  /** Lets the next build use the folder. */
  release(): void
}

/** The folder of a context's mirror. */
export function mirrorFolder(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'context', cacheKey(contextRoot))
}

/**
 * Brings the mirror up to date with `entries` and holds it until release(); undefined when another live
 * kudev process holds it.
 */
export function syncMirror(options: MirrorOptions): Mirror | undefined {
  const folder = mirrorFolder(options.root, options.env)
  mkdirSync(folder, {recursive: true})
  const lock = path.join(folder, 'lock')
  if (!acquire(lock)) return undefined
  try {
    const files = path.join(folder, 'files')
    const manifestFile = path.join(folder, 'manifest.json')
    const before = readManifest(manifestFile, options.root)
    // A sync cut short leaves no manifest, so the next one starts over instead of trusting a half-done folder.
    rmSync(manifestFile, {force: true})
    if (!before) rmSync(files, {force: true, recursive: true})
    const counts = apply(options, files, before ?? new Map())
    const manifest: Manifest = {
      held: [...counts.held.values()],
      paths: [...counts.held.keys()],
      root: options.root,
      version: MANIFEST_VERSION,
    }
    writeAtomically(manifestFile, JSON.stringify(manifest))
    const dockerfile = writeDockerfile(path.join(folder, 'dockerfile'), options.dockerfile)
    return {
      dockerfile,
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

function apply(options: MirrorOptions, files: string, before: ReadonlyMap<string, Held>) {
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

  for (const entry of options.entries) {
    const want = wanted(entry)
    held.set(entry.path, want)
    const had = before.get(entry.path)
    if (had === want) continue
    const target = path.join(files, entry.path)
    const source = path.join(options.root, entry.path)
    if (had !== undefined && !(had.startsWith('dir ') && entry.type === 'dir'))
      rmSync(target, {force: true, recursive: true})
    if (entry.type === 'dir') {
      mkdirSync(target, {recursive: true})
      chmodSync(target, entry.mode | 0o700)
    } else if (entry.type === 'symlink') symlinkSync(entry.linkTarget!, target)
    else linkOrCopy(source, target, entry.mode)
    linked += 1
  }

  // Deepest first, so a folder is empty by the time it goes (rmSync copes either way).
  const gone = [...before.keys()].filter((relative) => !held.has(relative)).sort((a, b) => b.length - a.length)
  for (const relative of gone) rmSync(path.join(files, relative), {force: true, recursive: true})
  for (const entry of options.entries)
    if (entry.type === 'dir' && closed(entry.mode)) chmodSync(path.join(files, entry.path), entry.mode)
  return {held, linked, removed: gone.length}
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

function readManifest(file: string, root: string): Map<string, Held> | undefined {
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
    if (manifest.version !== MANIFEST_VERSION || manifest.root !== root) return undefined
    return new Map(manifest.paths.map((relative, i) => [relative, manifest.held[i]!]))
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
