/**
 * File system events for watch mode, from @parcel/watcher (native inotify on Linux, FSEvents on macOS,
 * ReadDirectoryChangesW on Windows; prebuilt, loaded only by --watch). Chosen by measurement on the webapp
 * corpus: docs/benchmarks.md, "File watchers for watch mode".
 */
import {type FSWatcher, watch} from 'node:fs'
import path from 'node:path'

import type {ProjectConfig} from '../config/index.js'
import {KudevError} from '../output/errors.js'
import {inputFiles} from './triggers.js'

export interface Subscription {
  close(): Promise<void>
}

export interface WatchHandlers {
  /** Absolute paths that were created, changed or removed, as the watcher batches them. */
  onPaths(paths: string[]): void
  /** The watcher can no longer be trusted to report every change (overflow, a lost watch). */
  onUntrusted(reason: string): void
}

/**
 * Watches the build context recursively, and the folders of the build inputs outside it (.kudev.yaml, the
 * Dockerfile and its ignore file) without their subfolders. Fails with a clear error when the system's watch
 * limit is reached.
 */
export async function watchProject(project: ProjectConfig, handlers: WatchHandlers): Promise<Subscription> {
  const watcher = await import('@parcel/watcher')
  const root = project.buildContext
  const closers: (() => Promise<void>)[] = []
  const close = async () => {
    await Promise.all(closers.splice(0).map((closer) => closer()))
  }

  try {
    const subscription = await watcher.subscribe(root, (error, events) => {
      if (error) handlers.onUntrusted(error.message)
      else handlers.onPaths(events.map((event) => event.path))
    })
    closers.push(() => subscription.unsubscribe())
    const outside = new Map<string, Set<string>>()
    for (const file of inputFiles(project)) {
      const folder = path.dirname(file)
      if (folder === root || folder.startsWith(`${root}${path.sep}`)) continue
      outside.set(folder, (outside.get(folder) ?? new Set()).add(path.basename(file)))
    }

    for (const [folder, names] of outside) {
      let folderWatcher: FSWatcher
      try {
        folderWatcher = watch(folder, (_event, name) => {
          // Without a name (some platforms), any of the files may have changed.
          const changed = name === null ? [...names] : [name].filter((file) => names.has(file))
          if (changed.length > 0) handlers.onPaths(changed.map((file) => path.join(folder, file)))
        })
      } catch (error) {
        // A folder that does not exist holds no input yet (a Dockerfile-specific ignore file never made).
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }

      folderWatcher.on('error', (error) => handlers.onUntrusted(error.message))
      closers.push(async () => folderWatcher.close())
    }
  } catch (error) {
    await close()
    throw watchFailed(root, error as Error)
  }

  return {close}
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
