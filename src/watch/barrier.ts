/**
 * Knowing that the watcher has reported every change made before a moment, so that the check after a build
 * can trust the watcher instead of stat-ing every path again. parcel reads every subscription of a process
 * from one inotify descriptor, in order, and one debounce thread hands each batch to JavaScript. So once a
 * file kudev creates in a folder of its own (in its cache, never the project) comes back as created, every
 * change made before it has been handed over as well; its removal is waited for too, because the two
 * subscriptions' parts of one batch may reach JavaScript in either order, and the removal comes in a later batch.
 */
import {mkdirSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {setImmediate as nextTurn} from 'node:timers/promises'

import type {AsyncSubscription, Event} from '@parcel/watcher'

import {cacheDir} from '../hash/cache-file.js'

/** How long a mark may take to come back (parcel's debounce waits at most 500 ms) before the barrier gives up. */
const MARK_LIMIT_MS = 2000

export interface Barrier {
  /**
   * True once every change made before the call has been reported; false when that cannot be told in time.
   * `quick`: the first mark only (half the wait): a change of the same batch may still be on its way to
   * JavaScript, which is enough to let a burst arrive, not to vouch for a build.
   */
  passed(quick?: boolean): Promise<boolean>
  close(): Promise<void>
}

type Subscribe = (
  folder: string,
  callback: (error: Error | null, events: Event[]) => void,
) => Promise<AsyncSubscription>

/** A barrier in `<cache>/watch/<pid>`; undefined when that folder cannot be made or watched (checks then hash again). */
export async function makeBarrier(
  subscribe: Subscribe,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Barrier | undefined> {
  const folder = path.join(cacheDir(env), 'watch', String(process.pid))
  const waiting = new Map<string, () => void>()
  let subscription: AsyncSubscription
  try {
    rmSync(folder, {force: true, recursive: true})
    mkdirSync(folder, {recursive: true})
    subscription = await subscribe(folder, (error, events) => {
      if (error) return
      for (const event of events) waiting.get(`${event.type} ${event.path}`)?.()
    })
  } catch {
    remove(folder)
    return undefined
  }

  let marks = 0
  /** Resolves true when `event` is reported within the limit. */
  const reported = (event: string, act: () => void) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), MARK_LIMIT_MS)
      const done = (seen: boolean) => {
        clearTimeout(timer)
        waiting.delete(event)
        resolve(seen)
      }

      waiting.set(event, () => done(true))
      try {
        act()
      } catch {
        done(false)
      }
    })

  return {
    async close() {
      await subscription.unsubscribe()
      remove(folder)
    },
    async passed(quick = false) {
      const mark = path.join(folder, `mark-${++marks}`)
      if (!(await reported(`create ${mark}`, () => writeFileSync(mark, '')))) return false
      if (quick) {
        unlinkSync(mark)
        return true
      }

      if (!(await reported(`delete ${mark}`, () => unlinkSync(mark)))) return false
      // Callbacks of other subscriptions signalled before this one run in the same turn of the event loop.
      await nextTurn()
      return true
    },
  }
}

function remove(folder: string): void {
  try {
    rmSync(folder, {force: true, recursive: true})
  } catch {
    // Where the folder could not be made, there is nothing of ours to remove.
  }
}
