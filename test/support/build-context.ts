/**
 * A BuildContext made from a folder for builder tests, without the real walker and hasher: every entry
 * is taken (no .dockerignore), stated with lstat as the walker does, and the digest is a sha256 over
 * paths, modes and contents. The Dockerfile is placed the way kudev places it (assembleBuildContext); the
 * folder context lives in a cache folder of this test process.
 */
import {createHash} from 'node:crypto'
import {rmSync} from 'node:fs'
import {appendFile, lstat, readdir, readFile, readlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pipeline, Transform} from 'node:stream'

import {assembleBuildContext} from '../../src/context/build-context.js'
import {type Entry, makeEntry} from '../../src/context/entries.js'
import {ContextChangedError} from '../../src/context/tar.js'
import {type BuildContext, type BuildOptions, DIGEST_LABEL} from '../../src/plugins/contract.js'
import {uniqueName} from './docker.js'

export interface TestContext extends BuildContext {
  entries: Entry[]
  /** Lets the next build use the folder (as the pipeline does after each build). */
  release(): void
}

/** Where this test process keeps folder contexts (KUDEV_CACHE_DIR for them); removed when it exits. */
export const TEST_CACHE_DIR = path.join(tmpdir(), `kudev-test-cache-${process.pid}`)
process.once('exit', () => rmSync(TEST_CACHE_DIR, {force: true, recursive: true}))

/** `dockerfile` defaults to `<dir>/Dockerfile`; it may lie outside `dir`. */
export async function contextFromFolder(dir: string, dockerfile = path.join(dir, 'Dockerfile')): Promise<TestContext> {
  const root = path.resolve(dir)
  const entries = await walk(root, '')
  const digest = await digestOf(root, entries, dockerfile)
  const {context, release} = await assembleBuildContext({
    contextDigest: digest,
    debug: () => {},
    digest,
    dockerfile: path.resolve(dockerfile),
    entries: () => entries,
    env: {KUDEV_CACHE_DIR: TEST_CACHE_DIR},
    root,
    async verify() {
      if ((await digestOf(root, await walk(root, ''), dockerfile)) !== digest)
        throw new ContextChangedError(root, 'its digest moved during the build')
    },
  })
  return {...context, entries, release}
}

async function digestOf(root: string, entries: Entry[], dockerfile: string): Promise<string> {
  const hash = createHash('sha256')
  for (const entry of entries) {
    hash.update(`${entry.type} ${entry.path} ${entry.mode.toString(8)} ${entry.linkTarget ?? ''}\n`)
    if (entry.type === 'file') hash.update(await readFile(path.join(root, entry.path)))
  }

  hash.update(await readFile(dockerfile))
  return hash.digest('hex')
}

export interface BuilderProject {
  context: TestContext
  dir: string
  /** What the builder printed (onOutput). */
  lines: string[]
  /** Build options naming a fresh image `<imageName>:kudev-<8 hex>`. */
  options: BuildOptions
  /** `<imageName>:<tag>`. */
  ref: string
}

/**
 * A project in `dir` (already holding its files) for a builder's integration tests: its BuildContext, and
 * build options naming a fresh image under `imagePrefix`.
 */
export async function builderProject(
  dir: string,
  imagePrefix: string,
  extra: Partial<BuildOptions> = {},
  dockerfile?: string,
): Promise<BuilderProject> {
  const context = await contextFromFolder(dir, dockerfile)
  const lines: string[] = []
  const options: BuildOptions = {
    buildArgs: {},
    dockerfile: dockerfile ?? path.join(dir, 'Dockerfile'),
    imageName: uniqueName(imagePrefix),
    labels: {[DIGEST_LABEL]: context.digest},
    onOutput: (line) => lines.push(line),
    source: dir,
    tag: `kudev-${context.digest.slice(0, 8)}`,
    ...extra,
  }
  return {context, dir, lines, options, ref: `${options.imageName}:${options.tag}`}
}

async function walk(root: string, relative: string): Promise<Entry[]> {
  const entries: Entry[] = []
  const names = (await readdir(path.join(root, relative))).sort()
  for (const name of names) {
    const entryPath = relative === '' ? name : `${relative}/${name}`
    const stats = await lstat(path.join(root, entryPath), {bigint: true})
    if (stats.isDirectory()) {
      entries.push(makeEntry(entryPath, 'dir', stats))
      entries.push(...(await walk(root, entryPath)))
    } else if (stats.isSymbolicLink()) {
      entries.push(makeEntry(entryPath, 'symlink', stats, await readlink(path.join(root, entryPath))))
    } else {
      entries.push(makeEntry(entryPath, 'file', stats))
    }
  }

  return entries
}

/**
 * The same context, except that `file` is appended to once its first 2 MB are on their way to the builder:
 * after the tar writer opened and checked it, as an editor saving mid-build would.
 */
export function editedWhileSending(
  context: BuildContext,
  file: string,
): {context: BuildContext; edited: () => boolean} {
  let sent = 0
  let edited = false
  const tar = () =>
    pipeline(
      context.tar(),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sent += chunk.length
          if (sent <= 2 * 1024 * 1024 || edited) return callback(null, chunk)
          edited = true
          appendFile(file, 'edit').then(() => callback(null, chunk), callback)
        },
      }),
      () => {},
    )
  return {context: {...context, tar}, edited: () => edited}
}

/**
 * The same context, except that `file` is appended to after the build read the folder and before it asks
 * verify(): an editor saving while BuildKit builds.
 */
export function editedWhileBuilding(context: BuildContext, file: string): BuildContext {
  return {
    ...context,
    async folder() {
      const folder = await context.folder()
      return (
        folder && {
          ...folder,
          async verify() {
            await appendFile(file, 'edit')
            await folder.verify()
          },
        }
      )
    },
  }
}
