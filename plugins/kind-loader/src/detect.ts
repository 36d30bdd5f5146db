import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/** kind names the context, cluster and user entries of cluster X `kind-X` (KINDClusterKey). */
const PREFIX = 'kind-'

function stripPrefix(name: string | undefined): string | undefined {
  return name !== undefined && name.startsWith(PREFIX) && name.length > PREFIX.length
    ? name.slice(PREFIX.length)
    : undefined
}

/**
 * Claims a context whose kubeconfig cluster entry is `kind-<name>`: the cluster entry, not the context
 * name, says what kind wrote (a renamed context keeps it; a context someone named kind-x may point
 * anywhere). Without a cluster entry name, the context name decides. When the user chose kind, the name
 * comes from whichever of the two looks like kind's, else $KIND_CLUSTER_NAME (kind's own default);
 * without any, the loader reports it (detect cannot make kudev's errors).
 */
export function detectKind(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  const claimed = context.cluster === undefined ? stripPrefix(context.name) : stripPrefix(context.cluster)
  const cluster = forced
    ? (claimed ?? stripPrefix(context.name) ?? (process.env.KIND_CLUSTER_NAME || undefined))
    : claimed
  if (cluster === undefined) return forced ? {context: context.name, params: {}} : undefined
  return {context: context.name, params: {cluster}}
}
