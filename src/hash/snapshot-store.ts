/**
 * Where tree snapshots (src/hash/snapshot.ts) live: a folder per context in the cache folder (cache-file.ts),
 * and in it a file per set of ignore rules (a Dockerfile's own .dockerignore, spec.buildContextExclusions),
 * so that configs sharing a context do not overwrite each other's, up to KEPT_PER_CONTEXT.
 */
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, rmSync, statSync, unlinkSync} from 'node:fs'
import path from 'node:path'

import type {ContextFilter} from '../context/filter.js'
import {cacheDir, cacheKey} from './cache-file.js'
import {SNAPSHOT_VERSION, type SnapshotInput, writeSnapshot} from './snapshot.js'

/** Snapshots of one context under as many rule sets; the least recently written go first. */
const KEPT_PER_CONTEXT = 4

/** The folder holding one context's snapshots. */
export function snapshotFolder(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'tree', cacheKey(contextRoot))
}

/** The snapshot file of one context under the rules of `key` (snapshotKey). */
export function snapshotFile(contextRoot: string, key: Buffer, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(snapshotFolder(contextRoot, env), `${key.toString('hex', 0, 8)}.bin`)
}

/** A context's snapshot files, the most recently written first. */
export function snapshotFiles(contextRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const folder = snapshotFolder(contextRoot, env)
  let names: string[]
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.bin'))
  } catch {
    return []
  }

  const written = new Map(
    names.map((name) => [
      path.join(folder, name),
      statSync(path.join(folder, name), {throwIfNoEntry: false})?.mtimeMs ?? 0,
    ]),
  )
  return [...written.keys()].sort((a, b) => written.get(b)! - written.get(a)!)
}

let kudevVersion: string | undefined

/**
 * What decides which entries are in the context, besides the tree: the ignore rules, the exclusions and
 * the kudev that applied them. A snapshot made under other rules says nothing about this run.
 */
export function snapshotKey(filter: ContextFilter): Buffer {
  kudevVersion ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}
  ).version
  const rules = filter.rules.map((rule) => [rule.pattern, rule.negated])
  return createHash('sha256')
    .update(JSON.stringify([SNAPSHOT_VERSION, kudevVersion, filter.source, rules, filter.exclusions, filter.ownConfig]))
    .digest()
}

/**
 * Writes the snapshot, then removes the context's least recently written ones beyond KEPT_PER_CONTEXT, and
 * the one earlier kudevs kept at `<cache>/tree/<context>.bin`, which nothing reads any more.
 */
export function saveSnapshot(file: string, input: SnapshotInput): number {
  const id = writeSnapshot(file, input)
  for (const old of snapshotFiles(input.root, input.env)
    .filter((other) => other !== file)
    .slice(KEPT_PER_CONTEXT - 1))
    rmSync(old, {force: true})
  try {
    unlinkSync(`${snapshotFolder(input.root, input.env)}.bin`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }

  return id
}
