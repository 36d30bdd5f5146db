import type {Config} from '@oclif/core'

import type {ProjectConfig} from '../config/index.js'
import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {StepViewOptions} from '../output/progress.js'
import type {LoadReport} from '../plugins/contract.js'
import {unlessInterrupted} from './interrupt.js'

export interface LoadRequest {
  oclif: Config
  logger: Logger
  image: string
  /** The project's .kudev.yaml when there is one: its kubeContext, loader and builder apply. */
  project?: ProjectConfig
  kubeContext?: string
  loader?: string
  /** Where the image lives (default docker). */
  builder?: string
  /** --full-load */
  fullLoad?: boolean
  /** --registry */
  registry?: string
  view: Omit<StepViewOptions, 'prefix'>
}

export interface LoadResult {
  image: string
  id: string
  loaded: boolean
  loader: string
  context: string
  durationMs: number
  /** How the loader loaded and what each node was sent (null when nothing was loaded). */
  sent: LoadReport | null
  /** The name pods must use when it is not `image` (the pushed name, with a registry); else null. */
  clusterRef: string | null
}

/** kudev load IMAGE: an image that already exists locally, into the cluster of the kube context. */
export async function loadExisting(request: LoadRequest, signal: AbortSignal): Promise<LoadResult> {
  const {chooseBuilder, chooseContextAndLoader} = await import('./choose.js')
  const {loadable, loadImage} = await import('./load-image.js')
  const {chosen, context} = await chooseContextAndLoader(request)
  const {builder} = await chooseBuilder(request)
  const info = await unlessInterrupted(builder.inspect(request.image), signal)
  if (!info) {
    throw new KudevError('load', `image "${request.image}" not found by the ${builder.name} builder`, {
      hint:
        builder.name === 'docker'
          ? 'check the name with `docker image ls`, or build it first with `kudev build`'
          : `check the name, or pass --builder for the tool that holds it`,
    })
  }

  const image = loadable(builder, request.image, info.id)
  const result = await loadImage(
    chosen,
    image,
    {full: request.fullLoad, logger: request.logger, view: request.view},
    signal,
  )
  return {
    clusterRef: result.clusterRef,
    context: context.name,
    durationMs: result.durationMs,
    id: info.id,
    image: request.image,
    loaded: result.loaded,
    loader: chosen.loader.name,
    sent: result.sent,
  }
}
