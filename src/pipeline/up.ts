import type {LoadReport} from '../plugins/contract.js'
import type {BuildRequest, BuildResult} from './build.js'
import {unlessInterrupted} from './interrupt.js'

export interface UpRequest extends BuildRequest {
  /** --kube-context */
  kubeContext?: string
  /** --loader */
  loader?: string
  /** --full-load */
  fullLoad?: boolean
  /** --registry */
  registry?: string
  /** Called once the image is built or found up to date, before the load (watch mode keeps its snapshot). */
  onBuilt?: (built: BuildResult) => void
}

export interface UpResult {
  image: string
  id: string
  digest: string
  built: boolean
  loaded: boolean
  /** How the loader loaded and what each node was sent (null when nothing was loaded). */
  sent: LoadReport | null
  /** The name pods must use when it is not `image` (the pushed name, with a registry); else null. */
  clusterRef: string | null
  builder: string
  loader: string
  context: string
  /** build includes hash, the hash of the build context. */
  durationsMs: {hash: number; build: number; load: number; total: number}
}

/**
 * kudev up: config → kube context → builder and loader (both chosen, and the cluster checked, before any
 * work, so a wrong context or a stopped cluster fails in a second, not after a build) → build or skip → load
 * or skip.
 */
export async function up(request: UpRequest, signal: AbortSignal): Promise<UpResult> {
  const started = performance.now()
  const {buildImage} = await import('./build.js')
  const {chooseBuilder, chooseContextAndLoader} = await import('./choose.js')
  const {loadable, loadImage} = await import('./load-image.js')
  const {chosen, context} = await chooseContextAndLoader(request)
  request.logger.debug(`loader ${chosen.loader.name} (${chosen.plugin}), ${chosen.reason}`)
  const building = await chooseBuilder(request)
  // A cluster that is not there fails now, not after minutes of building.
  await unlessInterrupted(Promise.resolve(chosen.loader.check?.(chosen.target, {full: request.fullLoad})), signal)

  const built = await buildImage(request, building, signal)
  request.onBuilt?.(built)
  const image = loadable(building.builder, built.image, built.id)
  const load = built.unchanged
    ? {clusterRef: chosen.loader.clusterRef?.(image, chosen.target) ?? null, durationMs: 0, loaded: false, sent: null}
    : await loadImage(chosen, image, {full: request.fullLoad, logger: request.logger, view: request.view}, signal)
  return {
    builder: building.builder.name,
    built: built.built,
    context: context.name,
    digest: built.digest,
    durationsMs: {
      build: built.durationMs,
      hash: built.hashMs,
      load: load.durationMs,
      total: Math.round(performance.now() - started),
    },
    id: built.id,
    image: built.image,
    loaded: load.loaded,
    loader: chosen.loader.name,
    sent: load.sent,
    clusterRef: load.clusterRef,
  }
}
