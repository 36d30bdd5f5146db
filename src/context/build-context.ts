import {lstatSync, readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import type {MovedSince} from '../hash/index.js'
import type {BuildContext, FolderContext} from '../plugins/contract.js'
import {relativePosix} from '../util/paths.js'
import type {Entry} from './entries.js'
import type {Mirror} from './mirror.js'
import type {TarEntry} from './tar.js'
import {tarContext} from './tar.js'

export interface BuildContextInput {
  root: string
  /** The hashed entries, sorted, as the builder must receive them: made only when asked for. */
  entries(): readonly Entry[]
  /** The entries' context digest and what moved since an earlier tree snapshot, for the folder (MirrorOptions). */
  contextDigest: string
  moved?: MovedSince
  /** Absolute path of the Dockerfile. */
  dockerfile: string
  digest: string
  /** Fails with a `changed` error when the context no longer hashes to `digest`. */
  verify(): Promise<void>
  /** Logs what the folder context did (-v). */
  debug(message: string): void
  env?: NodeJS.ProcessEnv
}

/** A builder's context, and what to do once the build is over. */
export interface AssembledContext {
  context: BuildContext
  /** Lets the next build use the folder this one used. */
  release(): void
}

/**
 * The build context a builder receives: the tar, and on request the folder (src/context/mirror.ts), made
 * at most once per build.
 */
export async function assembleBuildContext(input: BuildContextInput): Promise<AssembledContext> {
  let mirror: Promise<Mirror | undefined> | undefined
  let made: Mirror | undefined
  const folder = async (): Promise<FolderContext | undefined> => {
    mirror ??= mirrorContext(input).then((synced) => (made = synced))
    const synced = await mirror
    return synced && {dockerfile: synced.dockerfile, root: synced.root, verify: input.verify}
  }

  // At once when the folder is made, so the lock is gone even if the process exits right after the build.
  const release = () => (made ? made.release() : void mirror?.then((synced) => synced?.release()))
  const context = tarredContext(input) as BuildContext
  context.folder = folder
  return {context, release}
}

async function mirrorContext(input: BuildContextInput): Promise<Mirror | undefined> {
  const {syncMirror} = await import('./mirror.js')
  const started = performance.now()
  const made = syncMirror({
    contextDigest: input.contextDigest,
    dockerfile: await readFile(input.dockerfile),
    entries: input.entries,
    env: input.env,
    moved: input.moved,
    root: input.root,
  })
  if (!made) input.debug('build context folder: another kudev run is building from it; sending a tar instead')
  else {
    const took = Math.round(performance.now() - started)
    const how = made.followed ? 'the folders listed again since its snapshot' : 'every entry compared'
    input.debug(
      `build context folder ${made.root}: ${made.linked} paths linked, ${made.removed} removed (${how}), in ${took} ms`,
    )
  }

  return made
}

/**
 * What a builder sends. A Dockerfile that is in the context travels as itself. One outside it, or excluded
 * from it, is shipped the way `docker build -f` does it: under a hidden name, with that name appended to the
 * tar's .dockerignore (made for the purpose, listing itself, when the context holds none) so the builder
 * drops it from what COPY sees. The name comes from the digest, so the same inputs always give the same tar.
 * Worked out on first use: a build from the folder never needs the list of every entry.
 */
function tarredContext(input: BuildContextInput): Omit<BuildContext, 'folder'> {
  let made: TarPlan | undefined
  const plan = () => (made ??= tarPlan(input))
  return {
    digest: input.digest,
    get dockerfile() {
      return plan().dockerfile
    },
    get hiddenInTar() {
      return plan().hiddenInTar
    },
    root: input.root,
    tar: () => tarContext(input.root, plan().entries),
  }
}

interface TarPlan {
  dockerfile: string
  hiddenInTar: string[]
  entries: readonly TarEntry[]
}

function tarPlan(input: BuildContextInput): TarPlan {
  const entries = input.entries()
  const relative = relativePosix(input.root, input.dockerfile)
  if (entries.some((entry) => entry.path === relative && entry.type === 'file'))
    return {dockerfile: relative, entries, hiddenInTar: []}

  const name = `.dockerfile.${input.digest.slice(0, 20)}`
  const stats = lstatSync(input.dockerfile, {bigint: true})
  const dockerfileEntry: TarEntry = {
    mode: 0o644,
    mtimeNs: stats.mtimeNs,
    path: name,
    size: Number(stats.size),
    source: input.dockerfile,
    type: 'file',
  }
  const existing = entries.find((entry) => entry.path === '.dockerignore' && entry.type === 'file')
  const original = existing ? readFileSync(path.join(input.root, '.dockerignore')) : Buffer.alloc(0)
  // Without a .dockerignore in the context, the one made here lists itself too, as docker's does: the
  // builder then leaves it out of what COPY sees (it was not in the hashed entries either).
  const ignoreText = Buffer.concat([original, Buffer.from(existing ? `\n${name}\n` : `.dockerignore\n${name}\n`)])
  const ignoreEntry: TarEntry = {
    content: ignoreText,
    mode: existing?.mode ?? 0o644,
    mtimeNs: existing?.mtimeNs,
    path: '.dockerignore',
    size: ignoreText.length,
    type: 'file',
  }
  return {
    dockerfile: name,
    entries: [...entries.filter((entry) => entry !== existing), dockerfileEntry, ignoreEntry],
    hiddenInTar: existing ? [name] : [name, '.dockerignore'],
  }
}
