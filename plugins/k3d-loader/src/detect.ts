import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/**
 * k3d names the context, cluster and user entries of cluster X `k3d-X` (`admin@k3d-X` for the user):
 * k3d-io/k3d pkg/client/kubeconfig.go, KubeconfigGet, with DefaultObjectNamePrefix "k3d" (pkg/types/defaults.go).
 */
const PREFIX = 'k3d-'

function stripPrefix(name: string | undefined): string | undefined {
  return name !== undefined && name.startsWith(PREFIX) && name.length > PREFIX.length
    ? name.slice(PREFIX.length)
    : undefined
}

/**
 * Claims a context whose kubeconfig cluster entry is `k3d-<name>`: the cluster entry says what k3d wrote (a
 * renamed context keeps it; a context someone named k3d-x may point anywhere). Without a cluster entry name,
 * the context name decides. When the user chose k3d, the name comes from whichever of the two looks like
 * k3d's; without either, the loader reports it (detect cannot make kudev's errors).
 */
export function detectK3d(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  const claimed = context.cluster === undefined ? stripPrefix(context.name) : stripPrefix(context.cluster)
  const cluster = forced ? (claimed ?? stripPrefix(context.name)) : claimed
  if (cluster === undefined) return forced ? {context: context.name, params: {}} : undefined
  return {context: context.name, params: {cluster}}
}
