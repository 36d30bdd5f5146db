#!/usr/bin/env node
// What Node alone costs for the hash benchmark's work, with nothing of kudev in it: the floors that bench:hash
// shows beside `kudev hash`, each run as a whole process like every other row.
//   node scripts/bench-hash-floor.js lstat <list>  import @oclif/core (what an oclif CLI loads before its first
//     command), then lstatSync every path in the list, in one thread (two threads are slower here:
//     docs/benchmarks.md). A warm hash must at least stat every entry.
//   node scripts/bench-hash-floor.js read <list>   open, read and sha256 every file in the list, half on the main
//     thread and half on one worker thread (one per extra core): no walk, no stat, no ignore rules, no CLI.
//     A cold hash must at least do this.
// <list>: absolute paths separated by NUL.
import {Buffer} from 'node:buffer'
import {closeSync, constants, lstatSync, openSync, readFileSync, readSync} from 'node:fs'
import {createHash, hash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads'

const CHUNK = 1 << 20

function readAndHash(paths) {
  const buffer = Buffer.allocUnsafe(CHUNK)
  for (const file of paths) {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      let read = readSync(fd, buffer, 0, CHUNK, null)
      if (read < CHUNK) {
        hash('sha256', buffer.subarray(0, read), 'buffer')
        continue
      }

      const digest = createHash('sha256')
      for (; read > 0; read = readSync(fd, buffer, 0, CHUNK, null)) digest.update(buffer.subarray(0, read))
      digest.digest()
    } finally {
      closeSync(fd)
    }
  }
}

if (isMainThread) {
  const [mode, listFile] = process.argv.slice(2)
  const paths = readFileSync(listFile, 'utf8').split('\0').filter(Boolean)
  if (mode === 'lstat') {
    await import('@oclif/core')
    for (const file of paths) lstatSync(file)
  } else if (mode === 'read') {
    const threads = availableParallelism()
    const share = (thread) => paths.filter((_, index) => index % threads === thread)
    const workers = Array.from(
      {length: threads - 1},
      (_, index) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), {workerData: share(index + 1)})
          worker.once('message', resolve)
          worker.once('error', reject)
        }),
    )
    readAndHash(share(0))
    await Promise.all(workers)
  } else {
    throw new Error('usage: bench-hash-floor.js lstat|read <NUL-separated list of paths>')
  }
} else {
  readAndHash(workerData)
  parentPort.postMessage('done')
}
