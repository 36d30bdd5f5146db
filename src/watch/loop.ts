/**
 * Watch mode's loop: a first cycle as the one-shot command, then a new cycle after every quiet period that
 * follows changes the tag covers. Changes while the image is still building cancel that build (no tag, no
 * process left, as Ctrl-C) and start again; changes during a load wait for the next cycle.
 */
import type {ProjectConfig} from '../config/index.js'
import type {ContextFilter} from '../context/filter.js'
import type {HashOptions} from '../hash/index.js'
import {isKudevError, KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import {interruptedAs} from '../pipeline/interrupt.js'
import {relativePosix} from '../util/paths.js'
import {DEFAULT_POLL_MS} from './defaults.js'
import {releaseMemory} from './memory.js'
import {sortPaths, type Triggers} from './triggers.js'
import {type Subscription, watchProject} from './watcher.js'

/** More changed paths than this in one cycle, and the cycle checks every path (the watcher may have dropped some). */
export const MANY_PATHS = 100
/** A polled cycle found the digest the last cycle ended with (built, or failed): nothing to do or say. */
export class NothingNew extends Error {}

/** Paths listed per cycle in its report; the count says how many there were. */
export const CHANGED_SHOWN = 20

export interface CycleInput {
  /** The project as read for this cycle. */
  project: ProjectConfig
  /** The context's paths that changed since the last cycle's snapshot; undefined: check everything. */
  changes?: HashOptions['changes']
  /** The digest of the last cycle that ended well: a cycle that finds the same one does nothing. */
  unchangedSince?: string
  /**
   * Call after each hash with its digest and the tree snapshot it left (the next cycle counts changes from
   * it). It throws NothingNew when a polled cycle finds the digest the last one ended with: stop there.
   */
  hashed(hash: {digest: string; snapshot?: number}): void
  /** Call when the cycle moves past building (loading): changes from then on wait for the next cycle. */
  built(): void
  /**
   * True once the watcher has reported every change made before the call: a change since the cycle began
   * has then aborted `signal`. False when the watcher cannot tell; then every path must be checked.
   */
  settled(): Promise<boolean>
  signal: AbortSignal
}

export interface CycleOutput {
  digest: string
  /** What the cycle reports (for --json, one line), and the line a terminal shows. */
  report: Record<string, unknown>
  line: string
}

export interface WatchLoopOptions {
  logger: Logger
  quietMs: number
  /** --poll: no file watcher; a cycle checks every path this often, and says nothing when nothing moved. */
  pollMs?: number
  /** Reads .kudev.yaml (again after it changed). */
  loadProject(): Promise<ProjectConfig>
  /** Loads the context's ignore rules for sorting events. */
  loadFilter(project: ProjectConfig): Promise<ContextFilter>
  runCycle(input: CycleInput): Promise<CycleOutput>
  /** Prints a cycle's report (stdout): a JSON line with --json, else the line. */
  emit(output: {report: Record<string, unknown>; line: string}): void
  /** Prints a failed cycle's error (the command keeps watching). */
  failed(error: KudevError, report: Record<string, unknown>): void
  /** For tests: subscribe to the file system another way. */
  watch?: typeof watchProject
}

/**
 * Runs until `signal` aborts; then ends the running cycle and throws the interruption, or, when no cycle was
 * running, says calmly that it stopped watching (still exit 130): Ctrl-C is how one leaves watch mode.
 */
export async function watchLoop(options: WatchLoopOptions, signal: AbortSignal): Promise<never> {
  const {logger} = options
  let project = await options.loadProject()
  let filter = await options.loadFilter(project)
  const pending: Triggers = {context: new Set(), inputs: new Set()}
  /** The next cycle checks every path (the first one, new inputs, a watcher that may have missed changes). */
  let everything = true
  let watcherTrusted = true
  let wake: (() => void) | undefined
  let lastEvent = 0
  let building: AbortController | undefined

  const changedSomething = () => {
    lastEvent = performance.now()
    // A change while the image builds: that build names content that is gone.
    building?.abort(new KudevError('interrupted', 'files changed during the build'))
    wake?.()
  }

  /** Set once there is no file watcher to trust: a cycle checks every path on every tick. */
  let polling: ReturnType<typeof setInterval> | undefined
  const poll = (everyMs: number) => {
    watcherTrusted = false
    everything = true
    polling ??= setInterval(() => {
      everything = true
      wake?.()
    }, everyMs)
  }

  let refreshWatch = false
  let subscription: Subscription | undefined
  const seconds = `${(options.pollMs ?? DEFAULT_POLL_MS) / 1000} s`
  if (options.pollMs === undefined) {
    try {
      subscription = await (options.watch ?? watchProject)(project, filter, {
        onNewFolder() {
          refreshWatch = true
        },
        onPaths(paths) {
          const before = pending.context.size + pending.inputs.size
          sortPaths(paths, project, filter, pending)
          if (pending.context.size + pending.inputs.size > before) changedSomething()
        },
        onUntrusted(reason) {
          if (polling === undefined)
            logger.warn(
              `the file watcher may have missed changes (${reason}); checking every path every ${seconds} from now on`,
            )
          poll(DEFAULT_POLL_MS)
          changedSomething()
        },
      })
      logger.info(`watching ${project.buildContext} for changes; Ctrl-C to stop`)
    } catch (error) {
      if (!isKudevError(error) || error.code !== 'watch') throw error
      logger.warn(`${error.message}; checking every path every ${seconds} instead (${error.hint})`)
      poll(DEFAULT_POLL_MS)
    }
  } else {
    logger.info(`checking ${project.buildContext} for changes every ${seconds} (--poll); Ctrl-C to stop`)
    poll(options.pollMs)
  }

  let snapshot: number | undefined
  let unchangedSince: string | undefined
  /** The digest and project the running cycle hashed, the last good cycle's, and the last failed cycle's. */
  let hashedKey: string | undefined
  let endedWith: string | undefined
  let failedWith: string | undefined
  let failedBefore: string | undefined
  const inputsKey = (digest: string) => `${digest} ${JSON.stringify(project.config)}`
  let cycles = 0
  /** The signal came while a cycle ran (and stopped it), not while the loop waited for changes. */
  let stoppedCycle = false
  try {
    while (!signal.aborted) {
      if (cycles > 0) await settled()
      if (signal.aborted) break
      const changed = [
        ...new Set([
          ...[...pending.inputs].map((file) => relativePosix(project.buildContext, file)),
          ...pending.context,
        ]),
      ].sort()
      const paths = new Set(pending.context)
      // Past MANY_PATHS, events the watcher may have lost hide in the burst (a git checkout); a watch renewed
      // for a new folder misses what changes while it is renewed: either way, check everything.
      const checkEverything: boolean =
        refreshWatch ||
        everything ||
        !watcherTrusted ||
        pending.inputs.size > 0 ||
        snapshot === undefined ||
        paths.size > MANY_PATHS
      pending.context.clear()
      pending.inputs.clear()
      everything = false
      cycles++
      hashedKey = undefined
      const cycle = new AbortController()
      building = cycle
      const stop = () => {
        stoppedCycle = true
        cycle.abort(signal.reason)
      }

      signal.addEventListener('abort', stop, {once: true})
      const started = performance.now()
      try {
        if (checkEverything) {
          project = await options.loadProject()
          filter = await options.loadFilter(project)
        }

        // Before the hash: what is written in a new folder from then on must be reported, and the folders
        // left out follow the rules just read.
        if (subscription && !polling && checkEverything && cycles > 1) {
          refreshWatch = false
          await subscription.refresh(project, filter)
        }

        const output = await options.runCycle({
          built() {
            if (building === cycle) building = undefined
          },
          changes: checkEverything ? undefined : {paths, since: snapshot!},
          hashed(hash) {
            snapshot = hash.snapshot
            hashedKey = inputsKey(hash.digest)
            if (polling && (hashedKey === endedWith || hashedKey === failedWith)) throw new NothingNew()
          },
          project,
          settled: async () => watcherTrusted && subscription !== undefined && (await subscription.settled()),
          signal: cycle.signal,
          unchangedSince: checkEverything ? undefined : unchangedSince,
        })
        unchangedSince = output.digest
        endedWith = hashedKey
        failedWith = undefined
        failedBefore = undefined
        options.emit({line: output.line, report: {...output.report, changed: shown(changed)}})
      } catch (error) {
        if (signal.aborted) break
        if (error instanceof NothingNew) continue
        // Cancelled by a change: these paths go round again with the new ones, once the files are quiet.
        if (cycle.signal.aborted) {
          logger.info('files changed while building; building again once they are quiet')
          for (const path of paths) pending.context.add(path)
          everything ||= checkEverything
          continue
        }

        unchangedSince = undefined
        endedWith = undefined
        // A polled cycle tries again once the files or .kudev.yaml change, as a watched one does.
        failedWith = hashedKey
        const kudevError = isKudevError(error) ? error : new KudevError('internal', (error as Error).message)
        // Polled cycles that fail before hashing (the context gone) fail the same way every tick: said once.
        const again = polling !== undefined && failedWith === undefined && kudevError.message === failedBefore
        failedBefore = kudevError.message
        if (!again)
          options.failed(kudevError, {changed: shown(changed), durationMs: Math.round(performance.now() - started)})
      } finally {
        signal.removeEventListener('abort', stop)
        building = undefined
      }

      releaseMemory()
    }
  } finally {
    clearInterval(polling)
    await subscription?.close()
  }

  if (!stoppedCycle) throw interruptedAs('stopped watching', {expected: true})
  throw new KudevError(
    'interrupted',
    `interrupted by ${String((signal.reason as Error | undefined)?.message ?? 'a signal')}`,
    {
      hint: 'nothing was tagged from an interrupted build',
    },
  )

  /** Resolves once changes are pending and none came for the quiet period (or the watch ends). */
  async function settled(): Promise<void> {
    while (!signal.aborted) {
      if (pending.context.size + pending.inputs.size > 0 || everything) {
        const quiet = lastEvent + options.quietMs - performance.now()
        if (quiet <= 0) {
          // parcel hands a burst over in batches 50 ms or more apart (the first event alone), later still on a
          // busy machine: an editor's temp file can come without the rename that follows it. Quiet means
          // nothing written before now is still on its way.
          if (subscription === undefined || polling !== undefined) return
          const before = lastEvent
          await subscription.delivered()
          if (lastEvent === before) return
          continue
        }

        await untilAborted((done) => {
          const timer = setTimeout(done, quiet)
          return () => clearTimeout(timer)
        })
        continue
      }

      await untilAborted((done) => {
        wake = done
        return () => (wake = undefined)
      })
    }
  }

  /** Waits for `start`'s callback, or for the watch to end; `start` returns how to stop waiting. */
  function untilAborted(start: (done: () => void) => () => void): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        stopWaiting()
        signal.removeEventListener('abort', finish)
        resolve()
      }

      const stopWaiting = start(finish)
      signal.addEventListener('abort', finish, {once: true})
    })
  }
}

function shown(changed: string[]): {paths: string[]; count: number} {
  return {count: changed.length, paths: changed.slice(0, CHANGED_SHOWN)}
}
