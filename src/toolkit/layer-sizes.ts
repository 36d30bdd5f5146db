/**
 * The sizes of the uncompressed layers kudev has sent to nodes, by digest, in kudev's cache. A layout built
 * from a push names the layers a node already holds without having them at hand, and a manifest must give
 * each layer's size: a digest fixes its content, so a size once seen stays true. A missing, damaged or
 * foreign record only means a load takes the save instead.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir, writeAtomically} from '../hash/cache-file.js'

const VERSION = 1
/** Enough for the layers of many projects' images; the oldest go first. */
const MAX_ENTRIES = 4096
const DIGEST = /^sha256:[0-9a-f]{64}$/

function recordFile(env: NodeJS.ProcessEnv): string {
  return path.join(cacheDir(env), 'layer-sizes.json')
}

/** What the record holds; empty when there is none or it cannot be trusted. */
export function knownLayerSizes(env: NodeJS.ProcessEnv = process.env): Map<string, number> {
  try {
    const record = JSON.parse(readFileSync(recordFile(env), 'utf8')) as {version?: unknown; sizes?: unknown}
    if (record.version !== VERSION || !Array.isArray(record.sizes)) return new Map()
    const sizes = new Map<string, number>()
    for (const entry of record.sizes as unknown[]) {
      if (!Array.isArray(entry)) return new Map()
      const [digest, size] = entry as unknown[]
      if (typeof digest !== 'string' || !DIGEST.test(digest) || !Number.isSafeInteger(size) || (size as number) < 0)
        return new Map()
      sizes.set(digest, size as number)
    }

    return sizes
  } catch {
    return new Map()
  }
}

/**
 * Adds `seen` to the record (a whole new file, renamed over the old one). Concurrent runs may each drop
 * the other's additions, which costs a later load a save, never a wrong size. A cache kudev cannot write
 * to is not an error: the record is a shortcut.
 */
export function rememberLayerSizes(
  seen: Iterable<readonly [string, number]>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const sizes = knownLayerSizes(env)
  let added = false
  for (const [digest, size] of seen) {
    if (!DIGEST.test(digest)) continue
    added ||= sizes.get(digest) !== size
    // Seen again: kept longest.
    sizes.delete(digest)
    sizes.set(digest, size)
  }

  if (!added) return
  const kept = [...sizes].slice(-MAX_ENTRIES)
  try {
    writeAtomically(recordFile(env), Buffer.from(JSON.stringify({sizes: kept, version: VERSION})))
  } catch {
    // Read-only or full cache: the next load saves instead of pushing.
  }
}
