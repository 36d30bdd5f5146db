import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/** What minikube (≥ 1.17) writes into the `cluster_info` and `context_info` extensions of its kubeconfig entries. */
const PROVIDER = 'minikube.sigs.k8s.io'

function fromMinikube(extensions: Record<string, unknown>): boolean {
  return Object.values(extensions).some(
    (body) => typeof body === 'object' && body !== null && (body as {provider?: unknown}).provider === PROVIDER,
  )
}

/**
 * Claims a context that minikube wrote, whatever the profile is called: its context or cluster entry
 * carries minikube's extension (under any name); or the context is named `minikube` (minikube before
 * 1.17 wrote no extension). minikube names the context and the cluster entry after the profile; the
 * cluster entry keeps that name when the context is renamed (as Tilt learned, tilt#6528).
 */
export function detectMinikube(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  const claimed =
    forced || context.name === 'minikube' || fromMinikube(context.extensions) || fromMinikube(context.clusterExtensions)
  return claimed ? {context: context.name, params: {profile: context.cluster ?? context.name}} : undefined
}
