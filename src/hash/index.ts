/**
 * The source hash: the build context exactly as Docker would receive it, plus every other build input,
 * digested into the tag `kudev-<8 hex>`. Same inputs, same tag; anything that reaches the image changes it.
 */
import {readFileSync, statSync} from 'node:fs'
import path from 'node:path'

import type {LoadedConfig} from '../config/schema.js'
import {type Entry, makeEntry} from '../context/entries.js'
import {loadContextFilter} from '../context/filter.js'
import {orderListings, printable, type ExcludedPath} from '../context/walk.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import {collectContext, type Progress} from './collect.js'
import {buildDigest, type BuildInputs, ContextDigest} from './digest.js'
import {type HashedListing, type Recorded, recordedListings, SHA256_BYTES} from './scan.js'
import {type ListedFolder, readSnapshot, saveSnapshot, Snapshot, snapshotFile, snapshotKey} from './snapshot.js'
import {readStatCache, StatCache, StatCacheWriter, statCacheFile, statCacheRecords} from './stat-cache.js'
import {imageTag} from './tag.js'


export interface HashOptions {
  logger: Logger
  /** Neither read nor write the stat cache: every file is read. */
  noCache?: boolean
  /** From the command line; each overrides the same name in spec.buildArgs. */
  buildArgs?: Record<string, string>
  /** Overrides spec.target. */
  target?: string
  /** Overrides spec.platform. */
  platform?: string
  /** `--build-timestamp`: the tag gets this time (UTC) appended. */
  buildTimestamp?: Date
  /** Also collect every excluded path with the rule that excluded it (`kudev hash --explain`). */
  explain?: boolean
  /** Hashing worker threads besides the main thread when there is much to read; 0 for none. Default: one per extra core, at most 3. */
  workers?: number
  /** Where the stat cache lives (KUDEV_CACHE_DIR, XDG_CACHE_HOME, HOME); default process.env. */
  env?: NodeJS.ProcessEnv
  onProgress?: (progress: Progress) => void
}

export interface HashStats {
  entries: number
  files: number
  dirs: number
  symlinks: number
  /** Bytes of the files in the context. */
  bytes: number
  /** Files read this run; the others came from the stat cache. */
  hashedFiles: number
  hashedBytes: number
  cachedFiles: number
  /** Hashing worker threads that helped the main thread. */
  workers: number
  durationMs: number
}

export interface HashResult {
  /** sha256, 64 hex characters; the builder keeps it as an image label. */
  digest: string
  tag: string
  /** Absolute path of the build context. */
  root: string
  /** What `COPY . /dst` would see, in context order: depth first, siblings by name. */
  entries: Entry[]
  /** The ignore file used, undefined when kudev's defaults applied. */
  ignoreFile?: {path: string; text: string; bytes: Uint8Array}
  /** The build inputs besides the files, as digested. */
  inputs: Omit<BuildInputs, 'dockerfile' | 'ignoreFile'>
  /** With `explain`: the excluded paths, sorted; else empty. */
  excluded: ExcludedPath[]
  stats: HashStats
}

export async function hashBuildContext(loaded: LoadedConfig, options: HashOptions): Promise<HashResult> {
  const started = performance.now()
  // The racy rule (stat-cache.ts) measures from before anything is read.
  const walkStartedNs = BigInt(Date.now()) * 1_000_000n
  const {logger} = options
  const {spec} = loaded.config
  const root = loaded.buildContext
  const rootStat = contextFolderStat(loaded)
  const treeFile = options.noCache || options.explain ? undefined : snapshotFile(root, options.env)
  const snapshot = treeFile === undefined ? undefined : readSnapshot(treeFile)
  if (snapshot !== undefined && 'problem' in snapshot) logger.debug(`tree snapshot ${treeFile}: ${snapshot.problem}; walking the context`)
  const usable = snapshot instanceof Snapshot ? snapshot : undefined
  const dockerfile = readDockerfile(loaded)
  const filter = await loadContextFilter({configFile: loaded.file, contextDir: root, dockerfile: loaded.dockerfile, exclusions: spec.buildContextExclusions})
  const inputs: Omit<BuildInputs, 'dockerfile' | 'ignoreFile'> = {
    buildArgs: {...spec.buildArgs, ...options.buildArgs},
    dockerfilePath: relativePosix(root, loaded.dockerfile),
    exclusions: spec.buildContextExclusions,
  }
  const target = options.target ?? spec.target
  const platform = options.platform ?? spec.platform
  // Docker treats an empty --target or --platform as none.
  if (target) inputs.target = target
  if (platform) inputs.platform = platform
  const digestOf = (contextDigest: Uint8Array) => buildDigest({
    ...inputs,
    dockerfile,
    ignoreFile: filter.ignoreFile && {bytes: filter.ignoreFile.bytes, path: relativePosix(root, filter.ignoreFile.path)},
  }, contextDigest)
  const finish = (fullDigest: string, result: Pick<HashResult, 'entries' | 'excluded' | 'stats'>): HashResult => {
    result.stats.durationMs = Math.round(performance.now() - started)
    // A getter: the snapshot's entries are built only when asked for (a build, --list).
    return Object.defineProperties({
      digest: fullDigest,
      excluded: result.excluded,
      ignoreFile: filter.ignoreFile,
      inputs,
      root,
      stats: result.stats,
      tag: imageTag(fullDigest, {buildTimestamp: options.buildTimestamp}),
    }, {entries: Object.getOwnPropertyDescriptor(result, 'entries')!}) as HashResult
  }

  const key = snapshotKey(filter)
  const recorded = usable && checkSnapshot(usable, root, key, logger)
  if (recorded?.check.clean) {
    const {bytes, dirs, entries, files, symlinks} = recorded.snapshot.counts
    let ordered: Entry[] | undefined
    return finish(digestOf(recorded.snapshot.contextDigest), {
      get entries() {
        ordered ??= orderedEntries(recordedListings(recorded, filter))
        return ordered
      },
      excluded: [],
      stats: {bytes, cachedFiles: files, dirs, durationMs: 0, entries, files, hashedBytes: 0, hashedFiles: 0, symlinks, workers: 0},
    })
  }

  // A snapshot, even one made under other ignore rules, vouches for file contents by stat as the stat cache does.
  const cacheFile = options.noCache ? undefined : statCacheFile(root, options.env)
  const cache = cacheFile === undefined || usable !== undefined ? undefined : readStatCache(cacheFile)
  if (cache !== undefined && 'problem' in cache) logger.debug(`stat cache ${cacheFile}: ${cache.problem}; hashing every file`)
  const cacheBytes = cache !== undefined && 'bytes' in cache ? cache.bytes : undefined
  const collected = await collectContext({
    cache: usable ?? (cacheBytes && new StatCache(cacheBytes)),
    explain: options.explain,
    filter,
    onProgress: options.onProgress,
    recorded,
    root,
    workers: options.workers,
  })

  const digest = new ContextDigest()
  const entries: Entry[] = []
  const {cachedFiles, hashedBytes, hashedFiles, workers} = collected
  const stats: HashStats = {bytes: 0, cachedFiles, dirs: 0, durationMs: 0, entries: 0, files: 0, hashedBytes, hashedFiles, symlinks: 0, workers}
  orderListings(collected.listings, (listing, index) => {
    const entry = listing.entries[index]!
    entries.push(entry)
    if (entry.type === 'file') {
      digest.add(entry, listing.hashes, index * SHA256_BYTES)
      stats.files++
      stats.bytes += entry.size
    } else {
      digest.add(entry)
      if (entry.type === 'dir') stats.dirs++
      else stats.symlinks++
    }
  })
  stats.entries = entries.length

  const listings = [...collected.listings.values()]
  const skipped = listings.flatMap((listing) => listing.skipped).sort((a, b) => (a.path < b.path ? -1 : 1))
  for (const special of skipped) {
    logger.warn(`skipped ${printable(special.path)} in the build context: ${special.kind}, which Docker does not copy`)
  }

  const contextDigest = digest.finish()
  let snapshotProblem: string | undefined = 'not wanted'
  if (treeFile !== undefined) {
    // Skipped specials are left out of the snapshot; their warnings must show on every run.
    snapshotProblem = skipped.length > 0
      ? 'the context holds files Docker does not copy'
      : trySave(treeFile, {contextDigest, counts: stats, folders: listedFolders(collected.listings, rootStat), key, root, walkStartedNs})
    if (snapshotProblem !== undefined) logger.debug(`tree snapshot not written: ${snapshotProblem}`)
  }

  // The stat cache is for runs without a snapshot: while snapshots come and go it may lag behind (its
  // records still hold for every file whose stat matches). Otherwise it is rewritten when it would say
  // something new: a warm run that read nothing writes nothing.
  const snapshotUsed = usable !== undefined && snapshotProblem === undefined
  if (cacheFile !== undefined && !snapshotUsed && (stats.hashedFiles > 0 || cacheBytes === undefined || stats.cachedFiles !== statCacheRecords(cacheBytes))) {
    writeStatCache(cacheFile, listings, walkStartedNs, logger)
  }

  return finish(digestOf(contextDigest), {
    entries,
    excluded: listings.flatMap((listing) => listing.excluded).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    stats,
  })
}

/** The snapshot and what moved below the root since it was written, when its rules are this run's. */
function checkSnapshot(snapshot: Snapshot, root: string, key: Buffer, logger: Logger): Recorded | undefined {
  if (!snapshot.key.equals(key)) {
    logger.debug('tree snapshot: made under other ignore rules; walking the context')
    return undefined
  }

  const check = snapshot.check(root)
  if (!check.clean) logger.debug(`tree snapshot: ${check.movedFolders.size} folders and ${check.movedEntries.reduce((sum, moved) => sum + moved, 0)} entries moved; listing and reading only those`)
  return {check, snapshot}
}

function orderedEntries(listings: ReadonlyMap<string, HashedListing>): Entry[] {
  const entries: Entry[] = []
  orderListings(listings, (listing, index) => entries.push(listing.entries[index]!))
  return entries
}

function trySave(file: string, input: Parameters<typeof saveSnapshot>[1]): string | undefined {
  try {
    return saveSnapshot(file, input)
  } catch (error) {
    // A read-only home only costs speed.
    return (error as Error).message
  }
}

/** Every folder the walk listed (the root first), with the stat its parent's listing took before the folder was read. */
function listedFolders(listings: ReadonlyMap<string, HashedListing>, rootStat: Entry): ListedFolder[] {
  const stats = new Map<string, Entry>([['', rootStat]])
  for (const listing of listings.values()) {
    for (const entry of listing.entries) if (entry.type === 'dir') stats.set(entry.path, entry)
  }

  const folders = [...listings.values()].sort((a, b) => (a.path === '' ? -1 : b.path === '' ? 1 : 0))
  return folders.map(({block, entries, hashes, path: folder}) => ({block, entries, hashes, path: folder, stat: stats.get(folder)!}))
}

function writeStatCache(file: string, listings: HashedListing[], walkStartedNs: bigint, logger: Logger): void {
  const writer = new StatCacheWriter(walkStartedNs)
  for (const listing of listings) {
    writer.folder(listing.path)
    const nameStart = listing.path === '' ? 0 : listing.path.length + 1
    for (let index = 0; index < listing.entries.length; index++) {
      const entry = listing.entries[index]!
      if (entry.type === 'file') writer.record(entry.path.slice(nameStart), entry, listing.hashes, index * SHA256_BYTES)
    }
  }

  try {
    writer.save(file)
  } catch (error) {
    // A read-only home only costs speed.
    logger.debug(`could not write the stat cache ${file}: ${(error as Error).message}`)
  }
}

/** The context folder's stat, taken before it is listed; an error when it is missing or not a folder. */
function contextFolderStat(loaded: LoadedConfig): Entry {
  let stats
  try {
    // stat, not lstat: a context given as a symlink to a folder is that folder, as for docker build.
    stats = statSync(loaded.buildContext, {bigint: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`
    throw new KudevError('config', `build context ${loaded.buildContext} ${problem}`, {
      data: {buildContext: loaded.buildContext},
      hint: `check spec.buildContext in ${loaded.file} (relative paths start at the folder holding it)`,
    })
  }

  if (!stats.isDirectory()) {
    throw new KudevError('config', `build context ${loaded.buildContext} is not a folder`, {
      data: {buildContext: loaded.buildContext},
      hint: `spec.buildContext in ${loaded.file} must name a folder`,
    })
  }

  return makeEntry('', 'dir', stats)
}

function readDockerfile(loaded: LoadedConfig): Buffer {
  try {
    return readFileSync(loaded.dockerfile)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? String(error)})`
    throw new KudevError('config', `Dockerfile ${loaded.dockerfile} ${problem}`, {
      data: {dockerfile: loaded.dockerfile},
      hint: `check spec.dockerfilePath in ${loaded.file} (relative paths start at the folder holding it)`,
    })
  }
}

function relativePosix(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/')
}
