/**
 * Which layer an entry of a saved image holds, known from its name before its content arrives. An OCI
 * layout names each blob by its digest. Docker's legacy archive names each layer file by a v1 ID derived
 * from the layer's chain ID (and, for the top layer, the image config), so a name always holds the same
 * layer: kudev learns those names from the manifest.json of each archive it reads. The names are only a
 * guess until that manifest is read; node-load.ts checks every guess against it.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir, writeAtomically} from '../hash/cache-file.js'

const VERSION = 1
/** About 600 kB of names: enough for every layer of many images, cheap to read on every load. */
const KEEP = 4096
/** A name carries a 64-hex ID (a v1 ID, a digest): a name like `0/layer.tar` is no identity to learn. */
const IDENTITY = /[a-f0-9]{64}/
const OCI_BLOB = /^blobs\/(sha256|sha512)\/([a-f0-9]{64,128})$/

export interface LayerNames {
  /** The digest of the layer the entry `name` holds, when known. */
  digestOf(name: string): string | undefined
  /** Remembers what an archive's manifest said its layer files hold. */
  learn(files: ReadonlyMap<string, string>): void
}

export function layerNames(env: NodeJS.ProcessEnv = process.env): LayerNames {
  const file = path.join(cacheDir(env), 'layer-names.json')
  const known = recall(file)
  return {
    digestOf(name) {
      const blob = OCI_BLOB.exec(name)
      return blob ? `${blob[1]}:${blob[2]}` : known.get(name)
    },
    learn(files) {
      const news = [...files].filter(([name, digest]) => IDENTITY.test(name) && known.get(name) !== digest)
      if (news.length === 0) return
      // Newest last: a name seen again moves to the end, and the oldest go first.
      for (const [name, digest] of news) {
        known.delete(name)
        known.set(name, digest)
      }

      const names = Object.fromEntries([...known].slice(-KEEP))
      try {
        writeAtomically(file, Buffer.from(`${JSON.stringify({names, version: VERSION})}\n`))
      } catch {
        // A cache kudev cannot write only means sending the layers it would have left out.
      }
    },
  }
}

function recall(file: string): Map<string, string> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as {version?: unknown; names?: unknown}
    if (parsed?.version !== VERSION || typeof parsed.names !== 'object' || parsed.names === null) return new Map()
    return new Map(
      Object.entries(parsed.names).filter(
        (pair): pair is [string, string] => typeof pair[1] === 'string' && /^sha(256|512):[a-f0-9]+$/.test(pair[1]),
      ),
    )
  } catch {
    return new Map()
  }
}
