import {lstat, readFile} from 'node:fs/promises'
import path from 'node:path'

import type {BuildContext, FolderContext} from '../plugins/contract.js'
import {relativePosix} from '../util/paths.js'
import type {Entry} from './entries.js'
import type {Mirror} from './mirror.js'
import type {TarEntry} from './tar.js'
import {tarContext} from './tar.js'

export interface BuildContextInput {
  root: string
  /** The hashed entries, sorted, as the builder must receive them. */
  entries: readonly Entry[]
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
  return {context: {...(await tarredContext(input)), folder}, release}
}

async function mirrorContext(input: BuildContextInput): Promise<Mirror | undefined> {
  const {syncMirror} = await import('./mirror.js')
  const started = performance.now()
  const made = syncMirror({
    dockerfile: await readFile(input.dockerfile),
    entries: input.entries,
    env: input.env,
    root: input.root,
  })
  if (!made) input.debug('build context folder: another kudev run is building from it; sending a tar instead')
  else {
    const took = Math.round(performance.now() - started)
    input.debug(
      `build context folder ${made.root}: ${made.linked} paths linked, ${made.removed} removed, in ${took} ms`,
    )
  }

  return made
}

/**
 * What a builder sends. A Dockerfile that is in the context travels as itself. One outside it, or excluded
 * from it, is shipped the way `docker build -f` does it: under a hidden name, with that name appended to the
 * tar's .dockerignore (made for the purpose, listing itself, when the context holds none) so the builder
 * drops it from what COPY sees. The name comes from the digest, so the
 * same inputs always give the same tar.
 */
async function tarredContext(input: BuildContextInput): Promise<Omit<BuildContext, 'folder'>> {
  const relative = relativePosix(input.root, input.dockerfile)
  const shipped = input.entries.some((entry) => entry.path === relative && entry.type === 'file')
  if (shipped)
    return {
      digest: input.digest,
      dockerfile: relative,
      hiddenInTar: [],
      root: input.root,
      tar: () => tarContext(input.root, input.entries),
    }

  const name = `.dockerfile.${input.digest.slice(0, 20)}`
  const stats = await lstat(input.dockerfile, {bigint: true})
  const dockerfileEntry: TarEntry = {
    mode: 0o644,
    mtimeNs: stats.mtimeNs,
    path: name,
    size: Number(stats.size),
    source: input.dockerfile,
    type: 'file',
  }
  const existing = input.entries.find((entry) => entry.path === '.dockerignore' && entry.type === 'file')
  const original = existing ? await readFile(path.join(input.root, '.dockerignore')) : Buffer.alloc(0)
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
  const entries = [...input.entries.filter((entry) => entry !== existing), dockerfileEntry, ignoreEntry]
  return {
    digest: input.digest,
    dockerfile: name,
    hiddenInTar: existing ? [name] : [name, '.dockerignore'],
    root: input.root,
    tar: () => tarContext(input.root, entries),
  }
}
