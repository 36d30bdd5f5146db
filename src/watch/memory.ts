/**
 * A full garbage collection between watch cycles. A cycle over a big context allocates tens of MB (every
 * entry for the build context's folder, a full re-hash after a BuildKit build) that V8 keeps as heap long
 * after; collecting while the watch idles gave back about 50 MB of RSS on the 45,000-file corpus
 * (docs/benchmarks.md). V8 offers the collector only with --expose-gc, which kudev's bin cannot pass, so
 * the flag is set at run time and `gc` taken from a context made after it (contexts get it when they are made).
 */
import v8 from 'node:v8'
import {runInNewContext} from 'node:vm'

let collect: (() => void) | null | undefined

export function releaseMemory(): void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc')
      collect = runInNewContext('gc') as () => void
    } catch {
      // Without it, V8 collects on its own schedule: only memory is at stake.
      collect = null
    }
  }

  collect?.()
}
