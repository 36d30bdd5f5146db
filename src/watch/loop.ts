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
import {relativePosix} from '../util/paths.js'
import {releaseMemory} from './memory.js'
import {sortPaths, type Triggers} from './triggers.js'
import {watchProject} from './watcher.js'

/** More changed paths than this in one cycle, and the cycle checks every path (the watcher may have dropped some). */
export const MANY_PATHS = 100
/** Paths listed per cycle in its report; the count says how many there were. */
export const CHANGED_SHOWN = 20

export interface CycleInput {
  /** The project as read for this cycle. */
  project: ProjectConfig
  /** The context's paths that changed since the last cycle's snapshot; undefined: check everything. */
  changes?: HashOptions['changes']
  /** The digest of the last cycle that ended well: a cycle that finds the same one does nothing. */
  unchangedSince?: string
  /** Call after each hash with the tree snapshot it left: the next cycle counts changes from it. */
  hashed(snapshot: number | undefined): void
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

/** Runs until `signal` aborts; then ends the running cycle and throws the interruption. */
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

  let refreshWatch = false
  const subscription = await (options.watch ?? watchProject)(project, filter, {
    onNewFolder() {
      refreshWatch = true
    },
    onPaths(paths) {
      const before = pending.context.size + pending.inputs.size
      sortPaths(paths, project, filter, pending)
      if (pending.context.size + pending.inputs.size > before) changedSomething()
    },
    onUntrusted(reason) {
      if (watcherTrusted)
        logger.warn(`the file watcher may have missed changes (${reason}); every cycle now checks every file`)
      watcherTrusted = false
      everything = true
      changedSomething()
    },
  })

  logger.info(`watching ${project.buildContext} for changes; Ctrl-C to stop`)
  let snapshot: number | undefined
  let unchangedSince: string | undefined
  let cycles = 0
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
      const cycle = new AbortController()
      building = cycle
      const stop = () => cycle.abort(signal.reason)
      signal.addEventListener('abort', stop, {once: true})
      const started = performance.now()
      try {
        if (checkEverything) {
          project = await options.loadProject()
          filter = await options.loadFilter(project)
        }

        // Before the hash: what is written in a new folder from then on must be reported, and the folders
        // left out follow the rules just read.
        if (checkEverything && cycles > 1) {
          refreshWatch = false
          await subscription.refresh(project, filter)
        }

        const output = await options.runCycle({
          built() {
            if (building === cycle) building = undefined
          },
          changes: checkEverything ? undefined : {paths, since: snapshot!},
          hashed(left) {
            snapshot = left
          },
          project,
          settled: async () => watcherTrusted && (await subscription.settled()),
          signal: cycle.signal,
          unchangedSince: checkEverything ? undefined : unchangedSince,
        })
        unchangedSince = output.digest
        options.emit({line: output.line, report: {...output.report, changed: shown(changed)}})
      } catch (error) {
        if (signal.aborted) break
        // Cancelled by a change: these paths go round again with the new ones, once the files are quiet.
        if (cycle.signal.aborted) {
          logger.info('files changed while building; building again once they are quiet')
          for (const path of paths) pending.context.add(path)
          everything ||= checkEverything
          continue
        }

        unchangedSince = undefined
        const kudevError = isKudevError(error) ? error : new KudevError('internal', (error as Error).message)
        options.failed(kudevError, {changed: shown(changed), durationMs: Math.round(performance.now() - started)})
      } finally {
        signal.removeEventListener('abort', stop)
        building = undefined
      }

      releaseMemory()
    }
  } finally {
    await subscription.close()
  }

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
        if (quiet <= 0) return
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
