/**
 * kudev's record of image layers, in its cache, for loads that take an image's layers from a push to the
 * loopback registry (node-load.ts):
 *  - the size of each uncompressed layer kudev has sent to nodes, by digest (its diff ID): a layout names
 *    the layers a node already holds without having them at hand, and a manifest gives each one's size;
 *  - which diff ID each compressed digest Docker has pushed stands for: Docker asks the registry about a
 *    layer by that digest, and the registry says yes only to layers every node holds.
 * A digest fixes its content, so an entry once seen stays true. A missing, damaged or foreign record only
 * means a load takes the save, or a push sends a layer it could have left out.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir, writeAtomically} from '../hash/cache-file.js'

const VERSION = 2
/** Enough for the layers of many projects' images; the oldest go first. */
const MAX_ENTRIES = 4096
const DIGEST = /^sha256:[0-9a-f]{64}$/

export interface LayerRecord {
  /** Uncompressed size by diff ID. */
  sizes: Map<string, number>
  /** Diff ID by the compressed digest Docker pushed it as. */
  diffIds: Map<string, string>
}

function recordFile(env: NodeJS.ProcessEnv): string {
  return path.join(cacheDir(env), 'layers.json')
}

/** What the record holds; empty when there is none or it cannot be trusted. */
export function readLayerRecord(env: NodeJS.ProcessEnv = process.env): LayerRecord {
  try {
    const record = JSON.parse(readFileSync(recordFile(env), 'utf8')) as Record<string, unknown>
    if (record.version !== VERSION) return emptyRecord()
    const sizes = entries(record.sizes, (size) => Number.isSafeInteger(size) && (size as number) >= 0)
    const diffIds = entries(record.diffIds, (diffId) => typeof diffId === 'string' && DIGEST.test(diffId))
    if (sizes === undefined || diffIds === undefined) return emptyRecord()
    return {diffIds: diffIds as Map<string, string>, sizes: sizes as Map<string, number>}
  } catch {
    return emptyRecord()
  }
}

function emptyRecord(): LayerRecord {
  return {diffIds: new Map(), sizes: new Map()}
}

/** `[[digest, value], …]` as a Map; undefined when any pair is not a digest and a valid value. */
function entries(list: unknown, valid: (value: unknown) => boolean): Map<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined
  const map = new Map<string, unknown>()
  for (const pair of list as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined
    const [digest, value] = pair as [unknown, unknown]
    if (typeof digest !== 'string' || !DIGEST.test(digest) || !valid(value)) return undefined
    map.set(digest, value)
  }

  return map
}

/**
 * Adds what a load saw to the record (a whole new file, renamed over the old one); what it saw again is
 * kept longest. Concurrent runs may each drop the other's additions, which costs a later load a save,
 * never a wrong entry. A cache kudev cannot write to is not an error: the record is a shortcut.
 */
export function rememberLayers(
  seen: {sizes?: Iterable<readonly [string, number]>; diffIds?: Iterable<readonly [string, string]>},
  env: NodeJS.ProcessEnv = process.env,
): void {
  const record = readLayerRecord(env)
  const added = [
    addTo(record.sizes, seen.sizes ?? []),
    addTo(
      record.diffIds,
      [...(seen.diffIds ?? [])].filter(([, diffId]) => DIGEST.test(diffId)),
    ),
  ].some(Boolean)
  if (!added) return
  const kept = {
    diffIds: [...record.diffIds].slice(-MAX_ENTRIES),
    sizes: [...record.sizes].slice(-MAX_ENTRIES),
    version: VERSION,
  }
  try {
    writeAtomically(recordFile(env), Buffer.from(JSON.stringify(kept)))
  } catch {
    // Read-only or full cache: later loads save, or push a layer they could have left out.
  }
}

/** Moves each of `seen` to the newest end of `map`; true when any was new or different. */
function addTo<T>(map: Map<string, T>, seen: Iterable<readonly [string, T]>): boolean {
  let added = false
  for (const [digest, value] of seen) {
    if (!DIGEST.test(digest)) continue
    added ||= map.get(digest) !== value
    map.delete(digest)
    map.set(digest, value)
  }

  return added
}
