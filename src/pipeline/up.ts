import type {Builder, LoadableImage} from '../plugins/contract.js'
import type {BuildRequest} from './build.js'
import type {ChosenLoader} from './loader.js'

export interface UpRequest extends BuildRequest {
  /** --kube-context */
  kubeContext?: string
  /** --loader */
  loader?: string
}

export interface UpResult {
  image: string
  id: string
  digest: string
  built: boolean
  loaded: boolean
  builder: string
  loader: string
  context: string
  durationsMs: {build: number; load: number; total: number}
}

/**
 * kudev up: config → kube context → builder and loader (both resolved before any work, so a wrong context
 * fails in a second, not after a build) → build or skip → load or skip.
 */
export async function up(request: UpRequest, signal: AbortSignal): Promise<UpResult> {
  const started = performance.now()
  const {resolveKubeContext} = await import('../kube/index.js')
  const {buildImage, resolveBuilder} = await import('./build.js')
  const {chooseLoader, loadImage} = await import('./loader.js')
  const {spec} = request.project.config
  const context = await resolveKubeContext({configured: spec.kubeContext, flag: request.kubeContext})
  const chosen: ChosenLoader = await chooseLoader({
    configured: spec.loader ? {file: request.project.file, name: spec.loader} : undefined,
    context,
    flag: request.loader,
    logger: request.logger,
    oclif: request.oclif,
  })
  request.logger.debug(`loader ${chosen.loader.name} (${chosen.plugin}), ${chosen.reason}`)
  const builder = await resolveBuilder(request)

  const built = await buildImage(request, builder, signal)
  const load = await loadImage(chosen, loadable(builder, built.image, built.id), request.view, request.logger, signal)
  return {
    builder: builder.name,
    built: built.built,
    context: context.name,
    digest: built.digest,
    durationsMs: {build: built.durationMs, load: load.durationMs, total: Math.round(performance.now() - started)},
    id: built.id,
    image: built.image,
    loaded: load.loaded,
    loader: chosen.loader.name,
  }
}

export function loadable(builder: Builder, ref: string, id: string): LoadableImage {
  return {id, inDockerDaemon: builder.dockerDaemon === true, ref, save: () => builder.save(ref)}
}
