/**
 * File system events for watch mode, from @parcel/watcher (native inotify on Linux, FSEvents on macOS,
 * ReadDirectoryChangesW on Windows; prebuilt, loaded only by --watch). Chosen by measurement on the webapp
 * corpus: docs/benchmarks.md, "File watchers for watch mode".
 */
import {type FSWatcher, lstatSync, readdirSync, statSync, watch} from 'node:fs'
import path from 'node:path'

import type {ProjectConfig} from '../config/index.js'
import type {ContextFilter} from '../context/filter.js'
import {KudevError} from '../output/errors.js'
import {inputFiles} from './triggers.js'

export interface Subscription {
  /**
   * Drops the subscription and subscribes the context anew: folders created since may never have been
   * watched (parcel-bundler/watcher#243), and the folders left out follow the ignore rules of `project`.
   * Changes made during the renewal are not reported.
   */
  refresh(project: ProjectConfig, filter: ContextFilter): Promise<void>
  /** True once every change made before the call has been reported (src/watch/barrier.ts); false when that cannot be told. */
  settled(): Promise<boolean>
  /** Resolves once the changes made before the call have reached the handlers, near enough to wait for a burst (Barrier.passed's quick). */
  delivered(): Promise<void>
  close(): Promise<void>
}

export interface WatchHandlers {
  /** Absolute paths that were created, changed or removed, as the watcher batches them. */
  onPaths(paths: string[]): void
  /** A folder was created in the context: the watch must be refreshed before the next hash trusts it. */
  onNewFolder(): void
  /** The watcher can no longer be trusted to report every change (overflow, a lost watch). */
  onUntrusted(reason: string): void
}

/**
 * Watches the build context recursively (without the top-level folders its ignore rules leave out whole),
 * and the folders of the build inputs outside it (.kudev.yaml, the Dockerfile and its ignore file) without
 * their subfolders. Fails with a clear error when the system's watch limit is reached.
 */
export async function watchProject(
  project: ProjectConfig,
  filter: ContextFilter,
  handlers: WatchHandlers,
): Promise<Subscription> {
  const watcher = await import('@parcel/watcher')
  const root = project.buildContext
  // An exception in parcel's callback ends the process: report it as a watcher that cannot be trusted.
  const guarded = (work: () => void) => {
    try {
      work()
    } catch (error) {
      handlers.onUntrusted((error as Error).message)
    }
  }

  // Left to itself, parcel uses watchman whenever one is installed; the barrier must share the context's backend.
  const backend = process.platform === 'linux' ? 'inotify' : undefined
  const subscribe = async (current: ProjectConfig, rules: ContextFilter) => {
    try {
      return await watcher.subscribe(
        root,
        (error, events) =>
          guarded(() => {
            if (error) return handlers.onUntrusted(error.message)
            handlers.onPaths(events.map((event) => event.path))
            if (events.some((event) => event.type === 'create' && isFolder(event.path))) handlers.onNewFolder()
            // Its watches went with it: one made again in its place is not watched.
            if (!isContextFolder(root)) handlers.onUntrusted(`the build context ${root} was removed`)
          }),
        {backend, ignore: ignoredFolders(current, rules)},
      )
    } catch (error) {
      throw watchFailed(root, error as Error)
    }
  }

  let context = await subscribe(project, filter)
  const others: FSWatcher[] = []
  try {
    others.push(...watchInputsOutside(project, handlers, guarded))
  } catch (error) {
    await context.unsubscribe()
    throw watchFailed(root, error as Error)
  }

  const {makeBarrier} = await import('./barrier.js')
  const barrier = await makeBarrier((folder, callback) => watcher.subscribe(folder, callback, {backend}))
  return {
    async close() {
      for (const other of others.splice(0)) other.close()
      await barrier?.close()
      await context.unsubscribe()
    },
    async refresh(current, rules) {
      // The old one goes first: parcel shares its native watcher, and the inotify watches of its folders,
      // among subscriptions of one folder, so dropping it after subscribing anew would take the new one's
      // watches too. What changes in between goes unreported: the caller checks every path after a refresh.
      await context.unsubscribe()
      context = await subscribe(current, rules)
    },
    settled: async () => (await barrier?.passed()) ?? false,
    async delivered() {
      await barrier?.passed(true)
    },
  }
}

/** Non-recursive watches of the folders of build inputs that lie outside the context. */
function watchInputsOutside(
  project: ProjectConfig,
  handlers: WatchHandlers,
  guarded: (work: () => void) => void,
): FSWatcher[] {
  const root = project.buildContext
  const outside = new Map<string, Set<string>>()
  for (const file of inputFiles(project)) {
    const folder = path.dirname(file)
    if (folder === root || folder.startsWith(`${root}${path.sep}`)) continue
    outside.set(folder, (outside.get(folder) ?? new Set()).add(path.basename(file)))
  }

  const watchers: FSWatcher[] = []
  for (const [folder, names] of outside) {
    let folderWatcher: FSWatcher
    try {
      folderWatcher = watch(folder, (_event, name) =>
        guarded(() => {
          // Without a name (some platforms), any of the files may have changed.
          const changed = name === null ? [...names] : [name].filter((file) => names.has(file))
          if (changed.length > 0) handlers.onPaths(changed.map((file) => path.join(folder, file)))
        }),
      )
    } catch (error) {
      // A folder that does not exist holds no input yet (a Dockerfile-specific ignore file never made).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      for (const made of watchers) made.close()
      throw error
    }

    folderWatcher.on('error', (error) => handlers.onUntrusted(error.message))
    watchers.push(folderWatcher)
  }

  return watchers
}

/**
 * The context's top-level folders its rules leave out whole (node_modules, .git, …, when ignored and no `!`
 * rule takes anything below them back): not watched at all, which on a JavaScript project is most of the tree.
 */
export function ignoredFolders(project: ProjectConfig, filter: ContextFilter): string[] {
  const root = project.buildContext
  let names: string[]
  try {
    names = readdirSync(root, {withFileTypes: true})
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
  } catch {
    return []
  }

  return names
    .filter((name) => {
      const decision = filter.decide(name, true)
      return decision.excluded && !filter.mustDescend(name, decision)
    })
    .map((name) => path.join(root, name))
}

function isFolder(file: string): boolean {
  try {
    return lstatSync(file).isDirectory()
  } catch {
    return false
  }
}

/** The context folder, followed as the hash follows it (a context given as a symlink to a folder). */
function isContextFolder(root: string): boolean {
  try {
    return statSync(root).isDirectory()
  } catch {
    return false
  }
}

/** The error to show when subscribing fails; inotify's limits get the sysctl that raises them. */
export function watchFailed(root: string, error: Error): KudevError {
  const message = error.message
  if (/ENOSPC|No space left on device|max_user_watches/i.test(message)) {
    return new KudevError('watch', `cannot watch ${root}: the system's limit of inotify watches is reached`, {
      data: {reason: message},
      hint: 'raise it: sudo sysctl fs.inotify.max_user_watches=524288 (and add that line to /etc/sysctl.conf to keep it), or leave big folders out of the build context',
    })
  }

  if (/EMFILE|max_user_instances|Too many open files/i.test(message)) {
    return new KudevError('watch', `cannot watch ${root}: too many inotify instances or open files`, {
      data: {reason: message},
      hint: 'raise it: sudo sysctl fs.inotify.max_user_instances=1024, or stop other watchers (editors, dev servers)',
    })
  }

  return new KudevError('watch', `cannot watch ${root}: ${message}`, {
    data: {reason: message},
    hint: 'run without --watch, and report the problem if it persists',
  })
}
