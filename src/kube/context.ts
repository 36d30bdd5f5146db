import {KudevError} from '../output/errors.js'
import {didYouMean} from './did-you-mean.js'
import {displayPath, displayPaths, type KubeconfigLocationOptions} from './files.js'
import {readKubeconfig, type KubeExtensions, type Kubeconfig} from './read.js'

/** Which precedence level chose the context: --kube-context, spec.kubeContext, or the kubeconfig's current-context. */
export type KubeContextSource = 'flag' | 'config' | 'current-context'

export interface KubeContext {
  name: string
  /** The cluster name from the context entry; undefined when the entry names none. */
  cluster?: string
  /** From the cluster entry; undefined when it has no server or the cluster entry is missing (see clusterDefined). */
  server?: string
  /** The cluster entry's identity (KubeconfigClusterEntry.identity); undefined when the entry is missing. */
  clusterIdentity?: string
  /**
   * False when no kubeconfig file defines the context's cluster. kubectl still reads such a context (it fails only
   * when it connects), so kudev returns it too and leaves the decision to the caller.
   */
  clusterDefined: boolean
  namespace?: string
  user?: string
  /** The context's extensions by name, e.g. minikube's cluster_info: {provider: minikube.sigs.k8s.io, ...}. */
  extensions: KubeExtensions
  /** The cluster entry's extensions by name; empty when the cluster entry is missing. */
  clusterExtensions: KubeExtensions
  source: KubeContextSource
  /** The kubeconfig file that defined the context. */
  file: string
  /** Every kubeconfig file read, in precedence order. */
  files: string[]
}

export interface KubeContextChoice {
  /** --kube-context */
  flag?: string
  /** spec.kubeContext from .kudev.yaml */
  configured?: string
}

export interface ResolveKubeContextOptions extends KubeContextChoice, KubeconfigLocationOptions {}

/** Reads the kubeconfig files and picks the context: flag, then spec.kubeContext, then current-context. */
export async function resolveKubeContext(options: ResolveKubeContextOptions = {}): Promise<KubeContext> {
  return selectKubeContext(await readKubeconfig(options), options)
}

/** Every context name in the merged kubeconfig, sorted as `kubectl config get-contexts` lists them. */
export function contextNames(kubeconfig: Kubeconfig): string[] {
  return [...kubeconfig.contexts.keys()].sort()
}

export function selectKubeContext(kubeconfig: Kubeconfig, choice: KubeContextChoice = {}): KubeContext {
  // An empty value counts as not given, as client-go treats an empty --context override.
  let chosen: Chosen | undefined
  if (choice.flag) chosen = {name: choice.flag, source: 'flag', origin: '--kube-context'}
  else if (choice.configured)
    chosen = {name: choice.configured, source: 'config', origin: 'spec.kubeContext in .kudev.yaml'}
  else if (kubeconfig.currentContext) {
    const {name, file} = kubeconfig.currentContext
    chosen = {name, source: 'current-context', origin: `current-context in ${displayPath(file, kubeconfig.home)}`}
  }

  if (chosen === undefined) throw noContext(kubeconfig)
  const {name, source} = chosen
  const context = kubeconfig.contexts.get(name)
  if (context === undefined) throw unknownContext(kubeconfig, chosen)
  const cluster = context.cluster === undefined ? undefined : kubeconfig.clusters.get(context.cluster)
  return {
    name,
    cluster: context.cluster,
    server: cluster?.server,
    clusterIdentity: cluster?.identity,
    clusterDefined: cluster !== undefined,
    namespace: context.namespace,
    user: context.user,
    extensions: context.extensions,
    clusterExtensions: cluster?.extensions ?? {},
    source,
    file: context.file,
    files: kubeconfig.files,
  }
}

interface Chosen {
  name: string
  source: KubeContextSource
  /** Where the name came from, for messages. */
  origin: string
}

const startClusterHint =
  'start a local cluster (kind create cluster, minikube start, or enable Kubernetes in Docker Desktop)'

function inFiles(kubeconfig: Kubeconfig): string {
  const shown = displayPaths(kubeconfig.files, kubeconfig.home)
  return kubeconfig.files.length === 1 ? shown : `any of ${shown}`
}

function available(names: string[]): string {
  return names.length === 0 ? 'no contexts are defined' : `available contexts: ${names.join(', ')}`
}

function noContext(kubeconfig: Kubeconfig): KudevError {
  const names = contextNames(kubeconfig)
  const data = {files: kubeconfig.files, contexts: names}
  if (names.length === 0) {
    return new KudevError('kube', `no kube contexts defined in ${inFiles(kubeconfig)}`, {hint: startClusterHint, data})
  }

  return new KudevError('kube', `no kube context selected: current-context is not set in ${inFiles(kubeconfig)}`, {
    hint: 'pick one with kubectl config use-context NAME, --kube-context NAME, or spec.kubeContext in .kudev.yaml',
    details: [available(names)],
    data,
  })
}

function unknownContext(kubeconfig: Kubeconfig, {name, source, origin}: Chosen): KudevError {
  const names = contextNames(kubeconfig)
  const fix = {
    flag: 'pass one of the available contexts to --kube-context',
    config: 'set spec.kubeContext in .kudev.yaml to one of the available contexts',
    'current-context': 'switch to an existing context: kubectl config use-context NAME',
  }[source]
  const suggestion = didYouMean(name, names)
  let hint = fix
  if (suggestion !== undefined) hint = `did you mean "${suggestion}"?`
  else if (names.length === 0) hint = startClusterHint
  return new KudevError('kube', `kube context "${name}" (from ${origin}) not found in ${inFiles(kubeconfig)}`, {
    hint,
    details: [available(names)],
    data: {context: name, source, suggestion, files: kubeconfig.files, contexts: names},
  })
}
