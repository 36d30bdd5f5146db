/**
 * The source hash: the build context exactly as Docker would receive it, plus every other build input,
 * digested into the tag `kudev-<8 hex>`. Same inputs, same tag; anything that reaches the image changes it.
 */
import {readFileSync, statSync} from 'node:fs'

import type {ProjectConfig} from '../config/schema.js'
import {compareNames, type Entry, makeEntry} from '../context/entries.js'
import {type ContextFilter, loadContextFilter} from '../context/filter.js'
import {type FolderListing, orderListings, printable, type ExcludedPath} from '../context/walk.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import {relativePosix} from '../util/paths.js'
import {collectContext, type Progress} from './collect.js'
import {buildDigest, type BuildInputs} from './digest.js'
import {type HashedListing, type Recorded, recordedListings} from './scan.js'
import {folderTimesTrusted} from './folder-times.js'
import {type ListedFolder, NOTHING_MOVED, readSnapshot, Snapshot} from './snapshot.js'
import {saveSnapshot, snapshotFile, snapshotFiles, snapshotKey} from './snapshot-store.js'
import {imageTag} from './tag.js'
import {type FolderSummary, summarizeTree} from './tree.js'

export interface HashOptions {
  logger: Logger
  /** Neither read nor write the tree snapshot: every file is read. */
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
  /** Where the tree snapshot lives (KUDEV_CACHE_DIR, XDG_CACHE_HOME, HOME) and KUDEV_TRUST_FOLDER_TIMES; default process.env. */
  env?: NodeJS.ProcessEnv
  onProgress?: (progress: Progress) => void
  /**
   * Watch mode: every path (relative to the context) a file watcher reported since the hash that left the
   * tree snapshot `since` (HashResult.snapshot). When that snapshot is still the one on disk, only these
   * paths are checked instead of every recorded one; otherwise the whole tree is.
   */
  changes?: {since: number; paths: ReadonlySet<string>}
}

export interface HashStats {
  entries: number
  files: number
  dirs: number
  symlinks: number
  /** Bytes of the files in the context. */
  bytes: number
  /** Files read this run; the others came from the tree snapshot. */
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
  /** The id of the tree snapshot this hash left (written, or found as it was); undefined without one. */
  snapshot?: number
  /** The digest of the entries alone (paths, types, modes, contents, link targets), hex: what `digest` covers of the files. */
  contextDigest: string
  /** When the hash started from a tree snapshot and listed only what moved since: what that was. */
  moved?: MovedSince
}

/** The folders a hash listed again since a tree snapshot; every other folder holds what the snapshot records. */
export interface MovedSince {
  /** The snapshot's context digest (HashResult.contextDigest of the hash that left it). */
  contextDigest: string
  /** The folders listed again, each with its hashed entries now. */
  folders: ReadonlyMap<string, Pick<FolderListing, 'entries' | 'conditional'>>
  /** A folder's entries as the snapshot records them; undefined for a folder it does not record. */
  before(folder: string): readonly Entry[] | undefined
}

export async function hashBuildContext(project: ProjectConfig, options: HashOptions): Promise<HashResult> {
  const started = performance.now()
  // The racy rule (folder-times.ts) measures from before anything is read.
  const walkStartedNs = BigInt(Date.now()) * 1_000_000n
  const {logger} = options
  const {spec} = project.config
  const root = project.buildContext
  const rootStat = contextFolderStat(project)
  const dockerfile = readDockerfile(project)
  const filter = await loadContextFilter({
    configFile: project.file,
    contextDir: root,
    dockerfile: project.dockerfile,
    exclusions: spec.buildContextExclusions,
  })
  const key = snapshotKey(filter)
  const treeFile = options.noCache ? undefined : snapshotFile(root, key, options.env)
  const usable = treeFile === undefined ? undefined : usableSnapshot(treeFile, root, options.env, logger)
  // --explain walks everything (it measures what is excluded); the snapshot still vouches for contents.
  const recorded =
    usable && !options.explain
      ? (fromChanges(usable, root, key, options.changes, logger) ??
        checkSnapshot(usable, root, key, options.env, logger))
      : undefined
  const tree = recorded?.check.clean
    ? recordedTree(recorded, filter)
    : await walkedTree({filter, key, options, recorded, root, rootStat, snapshot: usable, treeFile, walkStartedNs})

  const inputs: Omit<BuildInputs, 'dockerfile' | 'ignoreFile'> = {
    buildArgs: {...spec.buildArgs, ...options.buildArgs},
    dockerfilePath: relativePosix(root, project.dockerfile),
    exclusions: spec.buildContextExclusions,
  }
  const target = options.target ?? spec.target
  const platform = options.platform ?? spec.platform
  // Docker treats an empty --target or --platform as none.
  if (target) inputs.target = target
  if (platform) inputs.platform = platform
  const ignoreFile = filter.ignoreFile && {
    bytes: filter.ignoreFile.bytes,
    path: relativePosix(root, filter.ignoreFile.path),
  }
  const digest = buildDigest({...inputs, dockerfile, ignoreFile}, tree.contextDigest)
  tree.stats.durationMs = Math.round(performance.now() - started)
  const result = {
    digest,
    excluded: tree.excluded,
    contextDigest: Buffer.from(tree.contextDigest).toString('hex'),
    ignoreFile: filter.ignoreFile,
    inputs,
    moved: tree.moved,
    root,
    snapshot: tree.snapshot,
    stats: tree.stats,
    tag: imageTag(digest, {buildTimestamp: options.buildTimestamp}),
  }
  // Keeps `entries` a getter: they are built only when asked for (a build, --list).
  return Object.defineProperty(result, 'entries', Object.getOwnPropertyDescriptor(tree, 'entries')!) as HashResult
}

/** The context as this run found it: its digest, its entries (built when asked for), what was left out, and counts. */
interface ContextTree extends Pick<HashResult, 'entries' | 'excluded' | 'moved' | 'snapshot' | 'stats'> {
  contextDigest: Uint8Array
}

/** Nothing moved since the snapshot was written: it is the context. */
function recordedTree(recorded: Recorded, filter: ContextFilter): ContextTree {
  const {bytes, dirs, entries, files, symlinks} = recorded.snapshot.counts
  let ordered: Entry[] | undefined
  return {
    contextDigest: recorded.snapshot.contextDigest,
    get entries() {
      ordered ??= orderedEntries(recordedListings(recorded, filter))
      return ordered
    },
    excluded: [],
    moved: movedSince(recorded, new Map()),
    snapshot: recorded.snapshot.id,
    stats: {
      bytes,
      cachedFiles: files,
      dirs,
      durationMs: 0,
      entries,
      files,
      hashedBytes: 0,
      hashedFiles: 0,
      symlinks,
      workers: 0,
    },
  }
}

interface WalkInput {
  filter: ContextFilter
  key: Buffer
  options: HashOptions
  /** What moved since the snapshot, when its listings can vouch for this run. */
  recorded?: Recorded
  root: string
  rootStat: Entry
  /** A readable snapshot (for contents by stat), whatever its rules. */
  snapshot?: Snapshot
  /** Where the next snapshot goes; undefined with noCache. */
  treeFile?: string
  walkStartedNs: bigint
}

/** Walks what may have moved (everything, without a snapshot to vouch for listings), hashes what must be read, and records the result. */
async function walkedTree(input: WalkInput): Promise<ContextTree> {
  const {filter, key, options, recorded, root, snapshot, treeFile} = input
  const collected = await collectContext({
    // A snapshot, even one made under other ignore rules, vouches for file contents by stat.
    cache: snapshot,
    explain: options.explain,
    filter,
    onProgress: options.onProgress,
    recorded,
    root,
    workers: options.workers,
  })
  const {hashedBytes, hashedFiles, listings, untouched, workers} = collected
  const summaries = summarizeTree(listings, (folder) =>
    untouched.has(folder) ? recorded?.snapshot.summary(folder) : undefined,
  )
  const rootSummary = summaries.get('')!
  let cachedFiles = collected.cachedFiles
  for (const folder of untouched.keys()) cachedFiles += recorded!.snapshot.summary(folder)!.totals.files
  const stats: HashStats = {...rootSummary.totals, cachedFiles, durationMs: 0, hashedBytes, hashedFiles, workers}

  const skipped = [...listings.values()]
    .flatMap((listing) => listing.skipped)
    .sort((a, b) => (a.path < b.path ? -1 : 1))
  for (const special of skipped) {
    options.logger.warn(
      `skipped ${printable(special.path)} in the build context: ${special.description}, which Docker does not copy`,
    )
  }

  // A run that could not trust the snapshot's listings but read no file has nothing new to record, unless
  // folder times can be trusted now and were not when it was written.
  const nothingNew =
    snapshot !== undefined &&
    recorded === undefined &&
    snapshot.key.equals(key) &&
    hashedFiles === 0 &&
    (snapshot.trusted || folderTimesTrusted(root, options.env) !== true)
  let left = nothingNew ? snapshot.id : undefined
  if (treeFile !== undefined && !options.explain && !nothingNew) {
    const folders = listedFolders(listings, summaries, input.rootStat)
    const copied = recorded?.snapshot.subtreeBlocks(new Set(untouched.keys()))
    try {
      const walk = {copied, env: options.env, folders, key, root, walkStartedNs: input.walkStartedNs}
      left = saveSnapshot(treeFile, walk)
    } catch (error) {
      // A read-only home only costs speed.
      options.logger.debug(`could not write the tree snapshot ${treeFile}: ${(error as Error).message}`)
    }
  }

  let ordered: Entry[] | undefined
  return {
    contextDigest: rootSummary.digest,
    // Untouched subtrees are listed from the snapshot only when the entries are asked for.
    get entries() {
      ordered ??= orderedEntries(
        untouched.size === 0
          ? listings
          : new Map([...listings, ...recordedListings(recorded!, filter, [...untouched.values()])]),
      )
      return ordered
    },
    excluded: [...listings.values()]
      .flatMap((listing) => listing.excluded)
      .sort((a, b) => compareNames(a.path, b.path)),
    moved: recorded && movedSince(recorded, listings),
    snapshot: left,
    stats,
  }
}

function movedSince(recorded: Recorded, folders: MovedSince['folders']): MovedSince {
  const {snapshot} = recorded
  return {
    before: (folder) => snapshot.listing(folder, NOTHING_MOVED)?.entries,
    contextDigest: snapshot.contextDigest.toString('hex'),
    folders,
  }
}

/**
 * The snapshot of this context under these rules; without one, the context's most recent snapshot under
 * other rules, which still vouches for file contents by stat (a new Dockerfile, a kudev upgrade).
 */
function usableSnapshot(
  file: string,
  root: string,
  env: NodeJS.ProcessEnv | undefined,
  logger: Logger,
): Snapshot | undefined {
  const own = readSnapshot(file)
  if (own instanceof Snapshot) return own
  const other = snapshotFiles(root, env).find((candidate) => candidate !== file)
  const fallback = other === undefined ? undefined : readSnapshot(other)
  logger.debug(
    `tree snapshot ${file}: ${own.problem}; walking the context${fallback instanceof Snapshot ? `, contents vouched for by stat from ${other}` : ''}`,
  )
  return fallback instanceof Snapshot ? fallback : undefined
}

/**
 * What moved, from a file watcher's paths: only when the snapshot is the one the watcher's changes are
 * counted from (another kudev may have written another since) and was made under the same rules. The
 * watcher vouches for listings, so folder times need not be trusted.
 */
function fromChanges(
  snapshot: Snapshot,
  root: string,
  key: Buffer,
  changes: HashOptions['changes'],
  logger: Logger,
): Recorded | undefined {
  if (changes === undefined) return undefined
  if (snapshot.id !== changes.since || !snapshot.key.equals(key)) {
    logger.debug('tree snapshot: not the one the last cycle left; checking every recorded path')
    return undefined
  }

  return {check: snapshot.checkPaths(root, changes.paths), snapshot}
}

/** What moved below the root since the snapshot was written, when its listings can vouch for this run. */
function checkSnapshot(
  snapshot: Snapshot,
  root: string,
  key: Buffer,
  env: NodeJS.ProcessEnv | undefined,
  logger: Logger,
): Recorded | undefined {
  const trust = snapshot.trusted ? folderTimesTrusted(root, env) : 'folder times were not trusted when it was written'
  let problem = trust === true ? undefined : trust
  if (problem === undefined && !snapshot.key.equals(key)) problem = 'made under other ignore rules'
  if (problem !== undefined) {
    logger.debug(`tree snapshot: ${problem}; walking the context, contents vouched for by stat`)
    return undefined
  }

  const check = snapshot.check(root)
  if (!check.clean)
    logger.debug(
      `tree snapshot: ${check.movedFolders.size} folders and ${check.movedEntries.reduce((sum, moved) => sum + moved, 0)} entries moved; listing and reading only those`,
    )
  return {check, snapshot}
}

function orderedEntries(listings: ReadonlyMap<string, HashedListing>): Entry[] {
  const entries: Entry[] = []
  orderListings(listings, (listing, index) => entries.push(listing.entries[index]!))
  return entries
}

/** Every folder the walk listed (the root first), with the stat its parent's listing took before the folder was read, and its summary. */
function listedFolders(
  listings: ReadonlyMap<string, HashedListing>,
  summaries: ReadonlyMap<string, FolderSummary>,
  rootStat: Entry,
): ListedFolder[] {
  const stats = new Map<string, Entry>([['', rootStat]])
  for (const listing of listings.values()) {
    for (const entry of listing.entries) if (entry.type === 'dir') stats.set(entry.path, entry)
  }

  // The root first; the others keep their order.
  const folders = [...listings.values()].sort((a, b) => Number(b.path === '') - Number(a.path === ''))
  return folders.map(({entries, hashes, path: folder, skipped}) => ({
    entries,
    hashes,
    path: folder,
    relist: skipped.length > 0,
    stat: stats.get(folder)!,
    summary: summaries.get(folder)!,
  }))
}

/** The context folder's stat, taken before it is listed; an error when it is missing or not a folder. */
function contextFolderStat(project: ProjectConfig): Entry {
  let stats
  try {
    // stat, not lstat: a context given as a symlink to a folder is that folder, as for docker build.
    stats = statSync(project.buildContext, {bigint: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`
    throw new KudevError('config', `build context ${project.buildContext} ${problem}`, {
      data: {buildContext: project.buildContext},
      hint: `check spec.buildContext in ${project.file} (relative paths start at the folder holding it)`,
    })
  }

  if (!stats.isDirectory()) {
    throw new KudevError('config', `build context ${project.buildContext} is not a folder`, {
      data: {buildContext: project.buildContext},
      hint: `spec.buildContext in ${project.file} must name a folder`,
    })
  }

  return makeEntry('', 'dir', stats)
}

function readDockerfile(project: ProjectConfig): Buffer {
  try {
    return readFileSync(project.dockerfile)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problems: Record<string, string> = {EISDIR: 'is a folder', ENOENT: 'does not exist'}
    const problem = problems[code ?? ''] ?? `cannot be read (${code ?? String(error)})`
    throw new KudevError('config', `Dockerfile ${project.dockerfile} ${problem}`, {
      data: {dockerfile: project.dockerfile},
      hint: `check spec.dockerfilePath in ${project.file} (relative paths start at the folder holding it)`,
    })
  }
}
