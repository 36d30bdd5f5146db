/**
 * File contents → sha256, streamed through one reusable 1 MiB buffer per thread so memory stays flat with
 * multi-GB files, and spread over worker threads when there is much to read (a cold run): sha256 in one
 * thread reaches about 1.6 GB/s here, and reading costs as much again.
 */
import type {BigIntStats} from 'node:fs'
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'
import {createHash, hash as hashOnce} from 'node:crypto'
import {availableParallelism} from 'node:os'
import path from 'node:path'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import {type Entry, makeEntry} from '../context/entries.js'
import {printable, unreadable} from '../context/walk.js'
import {KudevError} from '../output/errors.js'
import type {FromWorker, HashedBatch, SerializedError, ToWorker} from './worker.js'

const CHUNK = 1 << 20
const ATTEMPTS = 5

export interface HashedFile {
  sha256: Buffer
  /** The stat that goes with the content read (taken after reading; equal to the one before in size and mtime). */
  stats: BigIntStats
}

/** What the walk's lstat said about a file: the first read trusts it instead of another fstat. */
export interface ListedStat {
  size: number
  mtimeNs: bigint
}

export class FileHasher {
  readonly #buffer = Buffer.allocUnsafe(CHUNK)
  /** Called after every chunk read, for progress on big files. */
  onBytes?: (bytes: number) => void

  /**
   * A file's sha256, or undefined when it was deleted since it was listed. A file whose size or mtime
   * moves while it is read is read again, so a hash never mixes two versions of it.
   */
  hash(rel: string, file: string, listed?: ListedStat): HashedFile | undefined {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let fd
      try {
        // O_NOFOLLOW: if the file was swapped for a symlink since lstat, fail rather than hash the link's target.
        fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return undefined
        if (code === 'ELOOP') throw changedWhileRead(file)
        throw unreadable(rel, file, error, 'file')
      }

      try {
        const hashed = this.#read(fd, rel, file, attempt === 1 ? listed : undefined)
        if (hashed !== undefined) return hashed
      } finally {
        closeSync(fd)
      }
    }

    throw new KudevError('config', `${printable(file)} kept changing while kudev read it (${ATTEMPTS} tries)`, {
      data: {path: file},
      hint: 'stop whatever keeps writing to it, or exclude it in .dockerignore',
    })
  }

  /** Reads exactly the size stat'ed before; the stat after must agree, or the file changed meanwhile. */
  #read(fd: number, rel: string, file: string, listed: ListedStat | undefined): HashedFile | undefined {
    let before = listed
    if (before === undefined) {
      const stats = fstatSync(fd, {bigint: true})
      if (!stats.isFile()) throw changedWhileRead(file)
      before = {mtimeNs: stats.mtimeNs, size: Number(stats.size)}
    }

    const {size} = before
    let total = 0
    let sha256: Buffer | undefined
    try {
      if (size <= CHUNK) {
        // Most files fit the buffer: a one-shot hash saves creating a Hash object per file.
        for (let read = -1; read !== 0 && total < size; total += read)
          read = readSync(fd, this.#buffer, total, size - total, null)
        sha256 = hashOnce('sha256', this.#buffer.subarray(0, total), 'buffer')
        this.onBytes?.(total)
      } else {
        const hash = createHash('sha256')
        for (let read = -1; read !== 0 && total < size; total += read) {
          read = readSync(fd, this.#buffer, 0, Math.min(CHUNK, size - total), null)
          hash.update(this.#buffer.subarray(0, read))
          this.onBytes?.(read)
        }

        sha256 = hash.digest()
      }
    } catch (error) {
      throw unreadable(rel, file, error, 'file')
    }

    // Shorter than stat'ed, or grown, or rewritten meanwhile: the stat after tells.
    const after = fstatSync(fd, {bigint: true})
    if (!after.isFile()) throw changedWhileRead(file)
    if (total !== size || after.size !== BigInt(size) || after.mtimeNs !== before.mtimeNs) return undefined
    return {sha256, stats: after}
  }
}

function changedWhileRead(file: string): KudevError {
  return new KudevError('config', `${printable(file)} was replaced while kudev read it`, {
    data: {path: file},
    hint: 'run the command again once the build context stops changing',
  })
}

export interface HashJob extends ListedStat {
  /** POSIX path relative to the context root. */
  rel: string
}

/**
 * Where a file's result goes: its entry with the stat that goes with the content read, and its sha256 as the
 * 32 bytes of `hashes` at `offset`; no entry when the file was deleted before it could be read.
 */
export type HashedCallback = (id: number, entry: Entry | undefined, hashes: Uint8Array, offset: number) => void

/** Worker threads pay off only for more work than their start-up (50 to 100 ms of CPU each). */
const WORKERS_FROM = {bytes: 48 << 20, files: 3000}
const MAX_WORKERS = 3
/** A worker's batch, and the main thread's between two turns of the event loop (so workers are fed). */
const WORKER_BATCH = {bytes: 8 << 20, files: 256}
const BATCHES_IN_FLIGHT = 2
const MAIN_BATCH = {bytes: 2 << 20, files: 64}

export interface HashPoolOptions {
  /** Worker threads besides the main thread; default one per extra core, at most 3. 0 for none. */
  workers?: number
  /** Bytes read so far, as they are read. */
  onBytes?: (bytes: number) => void
  onHashed: HashedCallback
}

/**
 * Hashes queued files with bounded concurrency: the main thread and, once the queue is big enough, worker
 * threads, each reading one file at a time. `pump()` between other work keeps the workers busy; `drain()`
 * finishes the queue with the main thread's help. Results go to `onHashed` as they come, so nothing is
 * kept per file once it is done.
 */
export class HashPool {
  readonly #root: string
  readonly #jobs: Array<HashJob | undefined> = []
  readonly #hasher = new FileHasher()
  readonly #maxWorkers: number
  readonly #onBytes: ((bytes: number) => void) | undefined
  readonly #onHashed: HashedCallback
  readonly #workers: Worker[] = []
  /** Batches sent to each worker that has reported ready and not answered yet. */
  readonly #inFlight = new Map<Worker, number>()
  #next = 0
  #pendingBytes = 0
  #busy = 0
  #closing = false
  #error: Error | undefined
  #wake: (() => void) | undefined

  constructor(root: string, options: HashPoolOptions) {
    this.#root = root
    this.#maxWorkers = options.workers ?? Math.min(availableParallelism() - 1, MAX_WORKERS)
    this.#onBytes = options.onBytes
    this.#onHashed = options.onHashed
    this.#hasher.onBytes = this.#onBytes
  }

  /** Files queued so far. */
  get files(): number {
    return this.#jobs.length
  }

  /** Worker threads started. */
  get workers(): number {
    return this.#workers.length
  }

  /** Queues a file; returns the id its result is delivered with. */
  add(job: HashJob): number {
    this.#pendingBytes += job.size
    return this.#jobs.push(job) - 1
  }

  /** Starts workers once enough is queued, and hands idle ones a batch. Cheap; call it between other work. */
  pump(): void {
    if (this.#error) throw this.#error
    const pendingFiles = this.#jobs.length - this.#next
    if (
      this.#workers.length === 0 &&
      this.#maxWorkers > 0 &&
      (this.#pendingBytes >= WORKERS_FROM.bytes || pendingFiles >= WORKERS_FROM.files)
    ) {
      for (let index = 0; index < this.#maxWorkers; index++) this.#startWorker()
    }

    // Two batches per worker: it starts the next while the main thread, busy walking, has not yet seen the first's result.
    for (const [worker, inFlight] of this.#inFlight) {
      for (let sent = inFlight; sent < BATCHES_IN_FLIGHT && this.#next < this.#jobs.length; sent++) {
        const [first, count] = this.#take(WORKER_BATCH)
        const message: ToWorker = {first, jobs: this.#jobs.slice(first, first + count) as HashJob[], type: 'hash'}
        worker.postMessage(message)
        this.#inFlight.set(worker, sent + 1)
        this.#busy++
      }
    }
  }

  /** Hashes everything queued, in this thread too, and waits for the workers. */
  async drain(): Promise<void> {
    for (;;) {
      this.pump()
      if (this.#next < this.#jobs.length) {
        const [first, count] = this.#take(MAIN_BATCH)
        for (let id = first; id < first + count; id++) {
          const job = this.#jobs[id]!
          const hashed = this.#hasher.hash(job.rel, `${this.#root}/${job.rel}`, job)
          this.#jobs[id] = undefined
          if (hashed === undefined) this.#onHashed(id, undefined, EMPTY, 0)
          else this.#onHashed(id, makeEntry(job.rel, 'file', hashed.stats), hashed.sha256, 0)
        }

        // Lets worker messages in (and a signal handler run) between batches.
        if (this.#workers.length > 0) await nextTurn()
      } else if (this.#busy > 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
      } else return
    }
  }

  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(this.#workers.map((worker) => worker.terminate()))
  }

  /** The next jobs within a budget (at least one). */
  #take(budget: {bytes: number; files: number}): [first: number, count: number] {
    const first = this.#next
    let bytes = 0
    while (
      this.#next < this.#jobs.length &&
      this.#next - first < budget.files &&
      (this.#next === first || bytes < budget.bytes)
    ) {
      bytes += this.#jobs[this.#next]!.size
      this.#next++
    }

    this.#pendingBytes -= bytes
    return [first, this.#next - first]
  }

  #startWorker(): void {
    const worker = startWorker(this.#root)
    this.#workers.push(worker)
    const fail = (error: Error) => {
      this.#error ??= error
      this.#wake?.()
    }

    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready': {
          this.#inFlight.set(worker, 0)
          break
        }

        case 'bytes': {
          this.#onBytes?.(message.bytes)
          return
        }

        case 'hashed': {
          this.#busy--
          this.#inFlight.set(worker, this.#inFlight.get(worker)! - 1)
          this.#deliver(message.batch)
          break
        }

        case 'error': {
          fail(rebuildError(message.error))
          return
        }
      }

      // A worker may be waiting: feed it now, not after the main thread's next batch.
      try {
        this.pump()
      } catch (error) {
        fail(error as Error)
      }

      this.#wake?.()
    })
    worker.on('error', (error) => fail(rebuildError({message: error.message, stack: error.stack})))
    worker.on('exit', (code) => {
      if (!this.#closing) fail(rebuildError({message: `a hashing thread stopped (exit code ${code})`}))
    })
  }

  #deliver(batch: HashedBatch): void {
    for (let index = 0; index < batch.gone.length; index++) {
      const id = batch.first + index
      const {rel} = this.#jobs[id]!
      this.#jobs[id] = undefined
      if (batch.gone[index] === 1) {
        this.#onHashed(id, undefined, EMPTY, 0)
        continue
      }

      const entry: Entry = {
        ctimeNs: batch.ctimes[index]!,
        dev: batch.devs[index]!,
        ino: batch.inos[index]!,
        mode: batch.modes[index]!,
        mtimeNs: batch.mtimes[index]!,
        path: rel,
        size: batch.sizes[index]!,
        type: 'file',
      }
      this.#onHashed(id, entry, batch.hashes, index * 32)
    }
  }
}

const EMPTY = new Uint8Array(0)

function startWorker(root: string): Worker {
  const here = fileURLToPath(import.meta.url)
  const script = new URL(`./worker${path.extname(here)}`, import.meta.url)
  // The tests run these sources as TypeScript through tsx, whose loader Node 20 does not pass on to workers.
  if (here.endsWith('.ts')) {
    return new Worker(
      `import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${JSON.stringify(script.href)}))`,
      {eval: true, workerData: root},
    )
  }

  return new Worker(script, {workerData: root})
}

function rebuildError(error: SerializedError): KudevError {
  if (error.code !== undefined) return new KudevError(error.code, error.message, {data: error.data, hint: error.hint})
  return new KudevError('internal', `internal error in a hashing thread: ${error.message}`, {
    debug: error.stack ? [error.stack] : [],
    hint: 'this is a bug; rerun with --verbose and report the output',
  })
}
