import type {Config} from '@oclif/core'

import type {KubeContext} from '../kube/index.js'
import {isKudevError, KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {StepViewOptions} from '../output/progress.js'
import type {KubeContextInfo, LoadableImage, Loader, LoaderDescriptor, LoadTarget} from '../plugins/contract.js'
import type {Registration, Registry} from '../plugins/resolver.js'

export interface ChosenLoader {
  loader: Loader
  target: LoadTarget
  /** Package of the plugin that provides it. */
  plugin: string
  /** Why this loader: `--loader`, `spec.loader in …`, or `detected from kube context "…"`. */
  reason: string
}

export interface LoaderChoice {
  oclif: Config
  logger: Logger
  context: KubeContext
  /** --loader */
  flag?: string
  /** spec.loader, with the file it came from. */
  configured?: {name: string; file: string}
}

/**
 * --loader > spec.loader > detection over every registered loader. kudev never loads into a context no
 * loader recognised as local unless the user named a loader.
 */
export async function chooseLoader(choice: LoaderChoice): Promise<ChosenLoader> {
  const {collectLoaders, pickByName} = await import('../plugins/resolver.js')
  const {pluginToolkit} = await import('../toolkit/index.js')
  const registry = await collectLoaders(choice.oclif, {logger: choice.logger})
  const info = contextInfo(choice.context)
  let named: {name: string; source: string} | undefined
  if (choice.flag) named = {name: choice.flag, source: '--loader'}
  else if (choice.configured) named = {name: choice.configured.name, source: `spec.loader in ${choice.configured.file}`}

  let chosen: {registration: Registration<LoaderDescriptor>; target: LoadTarget; reason: string}
  if (named) {
    const registration = pickByName(registry, named.name, named.source)
    const target = (await detect(registration, info, true)) ?? {context: info.name, params: {}}
    chosen = {reason: named.source, registration, target}
  } else {
    const claims = await claimsFor(registry, info)
    if (claims.length === 0) throw notLocal(info.name, registry)
    if (claims.length > 1) {
      const names = claims
        .map(({registration}) => `${registration.descriptor.name} (${registration.plugin.name})`)
        .join(' and ')
      throw new KudevError('plugin', `kube context "${info.name}" is claimed by more than one loader: ${names}`, {
        hint: `pass --loader with one of them, or set spec.loader in .kudev.yaml`,
      })
    }

    chosen = {...claims[0]!, reason: `detected from kube context "${info.name}"`}
  }

  const loader = await chosen.registration.descriptor.create(pluginToolkit(choice.logger))
  return {loader, plugin: chosen.registration.plugin.name, reason: chosen.reason, target: chosen.target}
}

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

export function contextInfo(context: KubeContext): KubeContextInfo {
  return {
    cluster: context.cluster,
    clusterExtensions: context.clusterExtensions,
    extensions: context.extensions,
    name: context.name,
    server: context.server,
  }
}

async function claimsFor(registry: Registry<LoaderDescriptor>, info: KubeContextInfo) {
  const claims: {registration: Registration<LoaderDescriptor>; target: LoadTarget}[] = []
  for (const registration of registry.entries) {
    const target = await detect(registration, info, false)
    if (target) claims.push({registration, target})
  }

  return claims
}

async function detect(
  registration: Registration<LoaderDescriptor>,
  info: KubeContextInfo,
  forced: boolean,
): Promise<LoadTarget | undefined> {
  const {descriptor, plugin} = registration
  if (!descriptor.detect) return undefined
  try {
    return await descriptor.detect(info, {forced})
  } catch (error) {
    if (isKudevError(error)) throw error
    throw new KudevError(
      'plugin',
      `loader "${descriptor.name}" (${plugin.name}) failed to inspect kube context "${info.name}": ${(error as Error).message}`,
      {
        hint: 'pass --loader with another loader, or report the problem to the plugin author',
      },
    )
  }
}

function notLocal(context: string, registry: Registry<LoaderDescriptor>): KudevError {
  const names = [...new Set(registry.entries.map((entry) => entry.descriptor.name))]
  return new KudevError(
    'kube',
    `kube context "${context}" is not a local cluster kudev knows (docker-desktop, kind-*, minikube profiles)`,
    {
      hint:
        names.length > 0
          ? `pass --loader with one of: ${names.join(', ')} (kudev never loads into a cluster it does not recognise unless told to)`
          : 'no loaders are registered: reinstall kudev, or install a loader plugin with `kudev plugins install NAME`',
    },
  )
}
