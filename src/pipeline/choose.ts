import type {Config} from '@oclif/core'

import type {ProjectConfig} from '../config/index.js'
import type {KubeContext} from '../kube/index.js'
import {isKudevError, KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import type {
  Builder,
  DetectOptions,
  KubeContextInfo,
  Loader,
  LoaderDescriptor,
  LoadTarget,
  PluginToolkit,
} from '../plugins/contract.js'
import type {Registration, Registry} from '../plugins/resolver.js'

const DEFAULT_BUILDER = 'docker'
/** The loader that pushes to a registry, chosen when the user names one. */
const REGISTRY_LOADER = 'registry'

/** What picks a builder or loader: the flag, else the field in .kudev.yaml. */
export interface ChoiceRequest {
  oclif: Config
  logger: Logger
  /** The project's .kudev.yaml, when there is one: its spec.builder and spec.loader apply. */
  project?: ProjectConfig
  /** --builder */
  builder?: string
  /** --loader */
  loader?: string
  /** --registry */
  registry?: string
}

export interface ChosenBuilder {
  builder: Builder
  /** Package of the plugin that provides it. */
  plugin: string
  /** Why this builder: `--builder`, `spec.builder in …`, or `the default builder`. */
  reason: string
}

export interface ChosenLoader {
  loader: Loader
  target: LoadTarget
  /** Package of the plugin that provides it. */
  plugin: string
  /** Why this loader: `--loader`, `spec.loader in …`, or `detected from kube context "…"`. */
  reason: string
}

/** --builder > spec.builder > docker. */
export async function chooseBuilder(request: ChoiceRequest): Promise<ChosenBuilder> {
  const {collectBuilders, pickByName} = await import('../plugins/resolver.js')
  const registry = await collectBuilders(request.oclif, {logger: request.logger})
  const {name, source} = named(registry, request) ?? {name: DEFAULT_BUILDER, source: 'the default builder'}
  const {descriptor, plugin} = pickByName(registry, name, source)
  return {builder: await create(descriptor, request.logger), plugin: plugin.name, reason: source}
}

/**
 * --loader > spec.loader > detection over every registered loader. kudev never loads into a context no
 * loader recognised as local unless the user named a loader.
 */
export async function chooseLoader(request: ChoiceRequest, context: KubeContext): Promise<ChosenLoader> {
  const {collectLoaders, pickByName} = await import('../plugins/resolver.js')
  const registry = await collectLoaders(request.oclif, {logger: request.logger})
  const info = contextInfo(context)
  const asked = named(registry, request)
  // A loader named by the user is used as named; only the registry loader needs the cluster's registry.
  const pushTo =
    (await registryOf(request)) ??
    (asked === undefined || asked.name === REGISTRY_LOADER ? await advertised(context, request.logger) : undefined)

  let chosen: {registration: Registration<LoaderDescriptor>; target: LoadTarget; reason: string}
  if (asked) {
    const registration = pickByName(registry, asked.name, asked.source)
    const target = (await detect(registration, info, true, pushTo)) ?? {context: info.name, params: {}}
    chosen = {reason: asked.source, registration, target}
  } else if (pushTo) {
    // A registry the user named or the cluster advertises: the image is pushed there, whatever the cluster.
    const registration = pickByName(registry, REGISTRY_LOADER, pushTo.source)
    const target = (await detect(registration, info, true, pushTo)) ?? {
      context: info.name,
      params: {registry: pushTo.value},
    }
    chosen = {reason: pushTo.source, registration, target}
    if (pushTo.advertised) await announce(context, pushTo, await claimsFor(registry, info), request.logger)
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

  const loader = await create(chosen.registration.descriptor, request.logger)
  return {loader, plugin: chosen.registration.plugin.name, reason: chosen.reason, target: chosen.target}
}

/** The kube context (--kube-context > spec.kubeContext > current-context), and the loader for it. */
export async function chooseContextAndLoader(
  request: ChoiceRequest & {kubeContext?: string},
): Promise<{context: KubeContext; chosen: ChosenLoader}> {
  const {resolveKubeContext} = await import('../kube/index.js')
  const configured = request.project?.config.spec.kubeContext
  const context = await resolveKubeContext({configured, flag: request.kubeContext})
  return {chosen: await chooseLoader(request, context), context}
}

/** The name the user asked for and where it came from (for errors), or undefined when they did not. */
function named(registry: Registry<unknown>, request: ChoiceRequest): {name: string; source: string} | undefined {
  const {role} = registry
  const flag = request[role]
  if (flag) return {name: flag, source: `--${role}`}
  const configured = request.project?.config.spec[role]
  if (configured) return {name: configured, source: `spec.${role} in ${request.project!.file}`}
  return undefined
}

async function create<T>(descriptor: {create(toolkit: PluginToolkit): Promise<T>}, logger: Logger): Promise<T> {
  const {pluginToolkit} = await import('../toolkit/index.js')
  return descriptor.create(pluginToolkit(logger))
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

/** A registry to push to, and where it came from. */
interface PushTo {
  value: string
  /** For reasons and errors: `--registry`, `spec.registry in …`, or the ConfigMap that advertises it. */
  source: string
  /** KEP-1755's hostFromContainerRuntime, when the cluster advertised the registry. */
  pullRegistry?: string
  advertised?: boolean
}

/** The registry the context's cluster advertises (KEP-1755), remembered per cluster; notes go to -v. */
async function advertised(context: KubeContext, logger: Logger): Promise<PushTo | undefined> {
  const {advertisedRegistry, HOSTING_CONFIGMAP} = await import('../kube/registry-hosting.js')
  // Asking is an extra: whatever goes wrong with it leaves detection as it was.
  const answer = await advertisedRegistry(context).catch((error: Error) => ({
    hosting: undefined,
    notes: [`cannot ask the cluster for a registry: ${error.message}`],
  }))
  for (const note of answer.notes) logger.debug(`kube context "${context.name}": ${note}`)
  if (answer.hosting === undefined) return undefined
  const {host, hostFromContainerRuntime} = answer.hosting
  return {
    advertised: true,
    pullRegistry: hostFromContainerRuntime,
    source: `the registry the cluster advertises (ConfigMap ${HOSTING_CONFIGMAP})`,
    value: host,
  }
}

/** Why kudev pushes instead of side-loading: said once per cluster and registry, then only under -v. */
async function announce(
  context: KubeContext,
  pushTo: PushTo,
  claims: {registration: Registration<LoaderDescriptor>}[],
  logger: Logger,
): Promise<void> {
  const {firstTime} = await import('../toolkit/notices.js')
  if (!firstTime(`advertised-registry\0${context.name}\0${context.clusterIdentity ?? ''}\0${pushTo.value}`)) return
  const sideLoad = claims.map(({registration}) => `--loader ${registration.descriptor.name}`).join(' or ')
  logger.info(
    `kube context "${context.name}" advertises the registry ${pushTo.value}: kudev pushes there instead of loading into nodes${sideLoad ? ` (${sideLoad} to side-load)` : ''}`,
  )
}

/** --registry > spec.registry, checked; undefined when neither is set. */
async function registryOf(request: ChoiceRequest): Promise<PushTo | undefined> {
  if (request.registry !== undefined) {
    const {checkFlag, checkRegistry} = await import('../config/rules.js')
    checkFlag('--registry', request.registry, checkRegistry, 'localhost:5001')
    return {source: '--registry', value: request.registry}
  }

  const configured = request.project?.config.spec.registry
  return configured === undefined ? undefined : {source: `spec.registry in ${request.project!.file}`, value: configured}
}

async function detect(
  registration: Registration<LoaderDescriptor>,
  info: KubeContextInfo,
  forced: boolean,
  pushTo?: PushTo,
): Promise<LoadTarget | undefined> {
  const {descriptor, plugin} = registration
  if (!descriptor.detect) return undefined
  const options: DetectOptions = {forced}
  if (pushTo !== undefined) options.registry = pushTo.value
  if (pushTo?.pullRegistry !== undefined) options.pullRegistry = pushTo.pullRegistry
  try {
    return await descriptor.detect(info, options)
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
    `kube context "${context}" is not a local cluster kudev knows (docker-desktop, kind-*, k3d-*, minikube profiles, microk8s, rancher-desktop, orbstack, colima)`,
    {
      hint:
        names.length > 0
          ? `push to a registry the cluster pulls from (--registry HOST[/PATH], or spec.registry), or pass --loader with one of: ${names.join(', ')} (kudev never loads into a cluster it does not recognise unless told to)`
          : 'no loaders are registered: reinstall kudev, or install a loader plugin with `kudev plugins install NAME`',
    },
  )
}
