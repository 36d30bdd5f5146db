import type {Logger} from '../output/logger.js'
import type {StepViewOptions} from '../output/progress.js'
import type {Builder, LoadableImage} from '../plugins/contract.js'
import type {ChosenLoader} from './choose.js'

export interface LoadStepResult {
  loaded: boolean
  durationMs: number
}

/** Loads unless every node already has this image ID. */
export async function loadImage(
  chosen: ChosenLoader,
  image: LoadableImage,
  view: Omit<StepViewOptions, 'prefix'>,
  logger: Logger,
  signal: AbortSignal,
): Promise<LoadStepResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  if (await chosen.loader.has(image, chosen.target)) {
    logger.info(`${image.ref} is already in ${chosen.target.context}`)
    return {durationMs: elapsed(), loaded: false}
  }

  const {startStep} = await import('../output/progress.js')
  const step = startStep(`loading ${image.ref} into ${chosen.target.context} with ${chosen.loader.name}`, {
    ...view,
    prefix: 'load │ ',
  })
  try {
    await chosen.loader.load(image, chosen.target, signal)
  } catch (error) {
    step.fail()
    throw error
  }

  step.done(`loaded ${image.ref} into ${chosen.target.context} in ${(elapsed() / 1000).toFixed(1)}s`)
  return {durationMs: elapsed(), loaded: true}
}

export function loadable(builder: Builder, ref: string, id: string): LoadableImage {
  return {id, inDockerDaemon: builder.dockerDaemon === true, ref, save: () => builder.save(ref)}
}
