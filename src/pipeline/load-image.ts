import type {Logger} from '../output/logger.js'
import {formatBytes, formatCount} from '../output/units.js'
import type {StepViewOptions} from '../output/progress.js'
import type {Builder, LoadableImage, LoadProgress, LoadReport, NodeLoad} from '../plugins/contract.js'
import type {ChosenLoader} from './choose.js'
import {unlessInterrupted} from './interrupt.js'

export interface LoadStepResult {
  loaded: boolean
  durationMs: number
  /** How the loader loaded and what each node was sent; null when nothing was loaded or the loader does not say. */
  sent: LoadReport | null
  /** The name pods must use when it is not the image's (the pushed name, with a registry); else null. */
  clusterRef: string | null
}

export interface LoadStepOptions {
  view: Omit<StepViewOptions, 'prefix'>
  logger: Logger
  /** --full-load */
  full?: boolean
}

/** Loads unless every node already has this image ID. */
export async function loadImage(
  chosen: ChosenLoader,
  image: LoadableImage,
  {full, logger, view}: LoadStepOptions,
  signal: AbortSignal,
): Promise<LoadStepResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const clusterRef = chosen.loader.clusterRef?.(image, chosen.target) ?? null
  if (await unlessInterrupted(chosen.loader.has(image, chosen.target), signal)) {
    logger.info(`${image.ref} is already in ${chosen.target.context}`)
    return {clusterRef, durationMs: elapsed(), loaded: false, sent: null}
  }

  const {startStep} = await import('../output/progress.js')
  const step = startStep(`loading ${image.ref} into ${chosen.target.context} with ${chosen.loader.name}`, {
    ...view,
    prefix: 'load │ ',
  })
  let sent: LoadReport | null
  try {
    const onProgress = progressLine((text) => step.status(text))
    sent = (await chosen.loader.load(image, chosen.target, signal, {full, onProgress})) ?? null
  } catch (error) {
    step.fail()
    throw error
  }

  for (const node of sent?.nodes ?? []) logger.debug(describeNodeLoad(node))
  const how = sent === null ? '' : ` (${summary(sent)})`
  step.done(`loaded ${image.ref} into ${chosen.target.context} in ${(elapsed() / 1000).toFixed(1)}s${how}`)
  return {clusterRef, durationMs: elapsed(), loaded: true, sent}
}

/** The live line's status from a load's progress: the save, then what each node was sent so far. */
export function progressLine(status: (text: string) => void): (progress: LoadProgress) => void {
  const nodes = new Map<string, LoadProgress>()
  return (progress) => {
    if (progress.node === undefined) return status(`saving the image: ${formatBytes(progress.bytes)}`)
    nodes.set(progress.node, progress)
    const each = [...nodes].map(
      ([node, {bytes, total}]) =>
        `${node} ${formatBytes(bytes)}${total === undefined ? '' : ` of ${formatBytes(total)}`}`,
    )
    status(each.join(' · '))
  }
}

/** "kind-worker: trimmed, from docker push, sent 3 blobs (4 kB), left out 1 layer it holds (663 MB), 0.9s" */
export function describeNodeLoad(node: NodeLoad): string {
  const source = node.source === undefined ? '' : {push: ' from docker push,', save: ' from a save,'}[node.source]
  const sent = `sent ${formatCount(node.blobsSent, 'blob')} (${formatBytes(node.bytesSent)})`
  const skipped =
    node.mode === 'trimmed'
      ? `, left out ${formatCount(node.blobsSkipped, 'layer')} it holds (${formatBytes(node.bytesSkipped)})`
      : ` (${node.reason ?? 'whole image'})`
  return `${node.node}: ${node.mode},${source} ${sent}${skipped}, ${(node.durationMs / 1000).toFixed(1)}s`
}

function summary(report: LoadReport): string {
  if (report.nodes.length === 0) return report.method
  const bytes = report.nodes.reduce((sum, node) => sum + node.bytesSent, 0)
  const full = report.nodes.filter((node) => node.mode === 'full').length
  const whole = full === report.nodes.length ? 'whole image' : `${full} whole`
  return `${full === 0 ? 'trimmed' : whole}: ${formatBytes(bytes)} sent to ${formatCount(report.nodes.length, 'node')}`
}

export function loadable(builder: Builder, ref: string, id: string): LoadableImage {
  return {id, inDockerDaemon: builder.dockerDaemon === true, ref, save: () => builder.save(ref)}
}
