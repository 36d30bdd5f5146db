import type {Config} from '@oclif/core'
import {pipeline} from 'node:stream'
import {setImmediate as nextTurn} from 'node:timers/promises'

import type {ProjectConfig} from '../config/index.js'
import type {Entry} from '../context/entries.js'
import {loadRunner} from '../exec/run.js'
import type {HashOptions, HashResult} from '../hash/index.js'
import type {Logger} from '../output/logger.js'
import type {StepViewOptions} from '../output/progress.js'
import {formatBytes} from '../output/units.js'
import {type BuildOptions, DIGEST_LABEL} from '../plugins/contract.js'
import {counting} from '../util/streams.js'
import type {ChosenBuilder} from './choose.js'
import {unlessInterrupted} from './interrupt.js'

/** A file edited during the build makes kudev hash again; past this many tries the tree is too busy. */
const MAX_ATTEMPTS = 3

export interface BuildRequest {
  oclif: Config
  logger: Logger
  project: ProjectConfig
  /** From --build-arg, over spec.buildArgs. */
  buildArgs: Record<string, string>
  builder?: string
  target?: string
  platform?: string
  network?: string
  buildTimestamp?: Date
  forceBuild?: boolean
  noCache?: boolean
  /** How build output is shown (live view, raw lines, or nothing). */
  view: Omit<StepViewOptions, 'prefix'>
  /** Watch mode: the paths a file watcher reported since the snapshot the last cycle left (HashOptions.changes). */
  changes?: HashOptions['changes']
  /** Watch mode: the digest the last cycle ended with; the same digest again means nothing to do. */
  unchangedSince?: string
  /**
   * Called after each hash with its digest and the tree snapshot it left (the next watch cycle counts changes
   * from it); throwing there ends the build before it starts.
   */
  onHashed?: (hash: Pick<HashResult, 'digest' | 'snapshot'>) => void
  /**
   * Watch mode: true once the file watcher has reported every change made before the call, any change since
   * the hash having aborted the build's signal; false when the watcher cannot tell (CycleInput.settled).
   */
  settled?: () => Promise<boolean>
}

export interface BuildResult {
  /** `<imageName>:<tag>` */
  image: string
  /** Image ID, `sha256:…` */
  id: string
  tag: string
  digest: string
  built: boolean
  builder: string
  durationMs: number
  /** Of durationMs, the hash of the build context. */
  hashMs: number
  /** Watch mode: the digest is the one the last cycle ended with (BuildRequest.unchangedSince): nothing was done. */
  unchanged?: boolean
}

/**
 * Config → hash → build, or skip when `<image>:<tag>` already exists with the same full digest. An image's
 * tag never names other content: a file that changes while it is being sent aborts that build (no tag),
 * and the context is hashed and built again.
 */
export async function buildImage(
  request: BuildRequest,
  chosen: ChosenBuilder,
  signal: AbortSignal,
): Promise<BuildResult> {
  const {builder} = chosen
  const started = performance.now()
  const {assembleBuildContext} = await import('../context/build-context.js')
  const {ContextChangedError, isContextChanged} = await import('../context/tar.js')
  const {startStep} = await import('../output/progress.js')
  const {spec} = request.project.config
  const elapsed = () => Math.round(performance.now() - started)
  if (builder.prepare) {
    // Its programs must be running before the hash, which holds the thread while it walks the tree: the
    // process runner is loaded first, and one turn of the event loop lets them start. What fails there
    // fails again, with its own words, where it is needed.
    await loadRunner()
    builder.prepare().catch(() => {})
    await nextTurn()
  }

  // Ends by returning or throwing: a changed file is the only reason to go round again.
  for (let attempt = 1; ; attempt++) {
    // Another attempt follows a file that changed meanwhile: every path is checked again.
    const hash = await hashContext(attempt === 1 ? request : {...request, changes: undefined})
    const image = `${spec.imageName}:${hash.tag}`
    const summary = {
      builder: builder.name,
      digest: hash.digest,
      hashMs: hash.stats.durationMs,
      image,
      tag: hash.tag,
    }
    if (hash.digest === request.unchangedSince) {
      request.logger.debug(`${image}: the digest the last cycle ended with; nothing to do`)
      const existing = await unlessInterrupted(builder.inspect(image), signal)
      if (existing?.labels[DIGEST_LABEL] === hash.digest)
        return {...summary, built: false, durationMs: elapsed(), id: existing.id, unchanged: true}
    }

    if (!request.forceBuild && !request.buildTimestamp) {
      const existing = await unlessInterrupted(builder.inspect(image), signal)
      if (existing?.labels[DIGEST_LABEL] === hash.digest) {
        request.logger.info(`${image} is up to date`)
        return {...summary, built: false, durationMs: elapsed(), id: existing.id}
      }
    }

    const {context, release} = await assembleBuildContext({
      debug: (message) => request.logger.debug(message),
      digest: hash.digest,
      dockerfile: request.project.dockerfile,
      entries: () => hash.entries,
      contextDigest: hash.contextDigest,
      moved: hash.moved,
      root: hash.root,
      // A builder that read the folder (not the tar, which checks each file as it sends it) asks this
      // before tagging: the watcher when it can vouch for every change so far, else a warm hash again.
      async verify() {
        if (await request.settled?.()) {
          if (signal.aborted) throw new ContextChangedError(hash.root, 'files changed during the build')
          request.logger.debug('build context folder: the file watcher reported no change during the build')
          return
        }

        const now = await hashContext({...request, changes: undefined, view: {...request.view, silent: true}})
        if (now.digest !== hash.digest)
          throw new ContextChangedError(hash.root, `${hash.tag} when the build began, ${now.tag} after it`)
      },
    })
    const view = startStep(`building ${image} with ${builder.name}`, {...request.view, prefix: 'build │ '})
    const tar = context.tar
    // The whole context goes as a tar (the classic builder): how much of it is sent is worth watching.
    context.tar = () => {
      const total = tarBytes(hash.entries)
      const sent = (bytes: number) =>
        view.status(`sending the build context: ${formatBytes(Math.min(bytes, total))} of ${formatBytes(total)}`)
      return pipeline(tar(), counting(sent), () => {})
    }

    const options: BuildOptions = {
      buildArgs: hash.inputs.buildArgs,
      dockerfile: request.project.dockerfile,
      imageName: spec.imageName,
      labels: {[DIGEST_LABEL]: hash.digest},
      network: request.network ?? spec.network,
      noCache: request.noCache,
      // Docker's classic, BuildKit's and podman's step lines become the live view's status.
      onOutput: (line) => {
        view.line(line)
        const step = /^(Step \d+\/\d+ : .*|STEP \d+\/\d+: .*|#\d+ \[.*)$/.exec(line)
        if (step) view.status(step[1]!)
      },
      platform: hash.inputs.platform,
      source: hash.root,
      tag: hash.tag,
      target: hash.inputs.target,
    }
    try {
      const built = await builder.build(context, options, signal)
      await checkDigestLabel(chosen, image, hash.digest, request.logger)
      view.done(`built ${image} (${built.id.slice(0, 19)}) in ${(elapsed() / 1000).toFixed(1)}s`)
      return {...summary, built: true, durationMs: elapsed(), id: built.id}
    } catch (error) {
      view.fail()
      if (!isContextChanged(error) || attempt === MAX_ATTEMPTS) throw error
      request.logger.warn(`${(error as Error).message}; hashing again (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`)
    } finally {
      release()
    }
  }
}

async function hashContext(request: BuildRequest): Promise<HashResult> {
  const {hashBuildContext} = await import('../hash/index.js')
  const {hashProgressView} = await import('../hash/progress.js')
  // The same progress line as `kudev hash`: on a terminal, once hashing takes over a second.
  const progress = request.view.silent ? undefined : hashProgressView(process.stderr)
  const hash = await hashBuildContext(request.project, {
    buildArgs: request.buildArgs,
    buildTimestamp: request.buildTimestamp,
    logger: request.logger,
    noCache: request.noCache,
    changes: request.changes,
    onProgress: progress?.update,
    platform: request.platform,
    target: request.target,
  }).finally(() => progress?.clear())
  request.onHashed?.(hash)
  return hash
}

/** About the size of a tar of `entries` (ustar: a header block each, contents in 512-byte blocks, two end blocks). */
function tarBytes(entries: readonly Entry[]): number {
  let bytes = 1024
  for (const entry of entries) bytes += 512 + (entry.type === 'file' ? Math.ceil(entry.size / 512) * 512 : 0)
  return bytes
}

/** Plugins already warned about in this process: the warning is worth reading once, not every build. */
const warnedPlugins = new Set<string>()

/** The contract's rule (BuildOptions.labels): without the digest label, the next run cannot skip this build. */
async function checkDigestLabel(chosen: ChosenBuilder, image: string, digest: string, logger: Logger): Promise<void> {
  const {builder, plugin} = chosen
  const built = await builder.inspect(image).catch((error: Error) => {
    logger.debug(`could not check the labels of ${image}: ${error.message}`)
  })
  if (!built || built.labels[DIGEST_LABEL] === digest || warnedPlugins.has(plugin)) return
  warnedPlugins.add(plugin)
  logger.warn(
    `builder "${builder.name}" (${plugin}) did not apply the label ${DIGEST_LABEL} kudev passed in BuildOptions.labels, so every run rebuilds ${image}; ask the plugin's author to apply every label (docs/plugins.md)`,
  )
}
