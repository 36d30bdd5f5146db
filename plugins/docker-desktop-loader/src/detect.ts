import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/** Docker Desktop's context and cluster entry names; docker-for-desktop(-cluster) before Desktop 2.1. */
const CONTEXTS = new Set(['docker-desktop', 'docker-for-desktop'])
const CLUSTERS = new Set(['docker-desktop', 'docker-for-desktop-cluster'])

/** Claims Docker Desktop's context, also renamed (its cluster entry keeps Desktop's name). Nothing to derive: there is one such cluster per Docker Desktop. */
export function detectDockerDesktop(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  const claimed =
    forced || CONTEXTS.has(context.name) || (context.cluster !== undefined && CLUSTERS.has(context.cluster))
  return claimed ? {context: context.name, params: {}} : undefined
}
