/** A worker thread of the hash pool (src/hash/files.ts): reads and hashes the files it is given. */
import {parentPort, workerData} from 'node:worker_threads'

import {isKudevError, type ExitCodeName} from '../output/errors.js'
import {FileHasher, type HashJob} from './files.js'

export type ToWorker = {type: 'hash'; first: number; jobs: HashJob[]}

/** Results as typed arrays (transferred, not copied), one slot per job from `first` on. */
export interface HashedBatch {
  first: number
  /** 1 where the file was deleted before it could be read. */
  gone: Uint8Array
  hashes: Uint8Array
  sizes: Float64Array
  mtimes: BigInt64Array
  ctimes: BigInt64Array
  inos: BigUint64Array
  devs: BigUint64Array
  modes: Uint16Array
}

export interface SerializedError {
  code?: ExitCodeName
  message: string
  hint?: string
  data?: Record<string, unknown>
  stack?: string
}

export type FromWorker =
  | {type: 'ready'}
  | {type: 'bytes'; bytes: number}
  | {type: 'hashed'; batch: HashedBatch}
  | {type: 'error'; error: SerializedError}

const BYTES_EVERY = 16 << 20
const port = parentPort!
/** The context root; jobs name files relative to it. */
const root = workerData as string
const hasher = new FileHasher()
let unreported = 0
hasher.onBytes = (bytes) => {
  unreported += bytes
  if (unreported < BYTES_EVERY) return
  port.postMessage({bytes: unreported, type: 'bytes'} satisfies FromWorker)
  unreported = 0
}

port.on('message', (message: ToWorker) => {
  try {
    const count = message.jobs.length
    const batch: HashedBatch = {
      ctimes: new BigInt64Array(count),
      devs: new BigUint64Array(count),
      first: message.first,
      gone: new Uint8Array(count),
      hashes: new Uint8Array(count * 32),
      inos: new BigUint64Array(count),
      modes: new Uint16Array(count),
      mtimes: new BigInt64Array(count),
      sizes: new Float64Array(count),
    }
    for (const [index, job] of message.jobs.entries()) {
      const hashed = hasher.hash(job.rel, `${root}/${job.rel}`, job)
      if (hashed === undefined) {
        batch.gone[index] = 1
        continue
      }

      const {stats} = hashed
      batch.hashes.set(hashed.sha256, index * 32)
      batch.sizes[index] = Number(stats.size)
      batch.mtimes[index] = stats.mtimeNs
      batch.ctimes[index] = stats.ctimeNs
      batch.inos[index] = stats.ino
      batch.devs[index] = stats.dev
      batch.modes[index] = Number(stats.mode & 0o7777n)
    }

    if (unreported > 0) port.postMessage({bytes: unreported, type: 'bytes'} satisfies FromWorker)
    unreported = 0
    const {ctimes, devs, gone, hashes, inos, modes, mtimes, sizes} = batch
    port.postMessage(
      {batch, type: 'hashed'} satisfies FromWorker,
      [ctimes, devs, gone, hashes, inos, modes, mtimes, sizes].map((array) => array.buffer as ArrayBuffer),
    )
  } catch (error) {
    const serialized: SerializedError = isKudevError(error)
      ? {data: error.data, hint: error.hint, code: error.code, message: error.message}
      : {
          message: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        }
    port.postMessage({error: serialized, type: 'error'} satisfies FromWorker)
  }
})
port.postMessage({type: 'ready'} satisfies FromWorker)
