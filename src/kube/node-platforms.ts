/** The platforms (`linux/amd64`) of a cluster's nodes, as its API server lists them. */
import type {ApiAnswer} from './api.js'
import type {KubeContext} from './context.js'

const NODES_PATH = '/api/v1/nodes'

interface NodeList {
  items?: {
    metadata?: {labels?: Record<string, unknown>}
    status?: {nodeInfo?: {operatingSystem?: unknown; architecture?: unknown}}
  }[]
}

/** Sorted distinct `os/arch` of the nodes; or why they cannot be had (RBAC, unreachable, an odd answer). */
export async function nodePlatforms(
  context: KubeContext,
  get?: (context: KubeContext, path: string) => Promise<ApiAnswer>,
): Promise<{platforms: string[]} | {unknown: string}> {
  const request = get ?? (async (on, where) => (await import('./api.js')).apiGet(on, where))
  const answer = await request(context, NODES_PATH)
  if (answer.status === 'not-found') return {unknown: 'the API server has no node list'}
  if (answer.status !== 'ok') return {unknown: `cannot list the nodes: ${answer.message}`}
  const platforms = new Set<string>()
  for (const node of (answer.body as NodeList).items ?? []) {
    // nodeInfo is what the kubelet reports; the well-known labels are what schedulers match.
    const os = node.status?.nodeInfo?.operatingSystem ?? node.metadata?.labels?.['kubernetes.io/os']
    const architecture = node.status?.nodeInfo?.architecture ?? node.metadata?.labels?.['kubernetes.io/arch']
    if (typeof os === 'string' && typeof architecture === 'string') platforms.add(`${os}/${architecture}`)
  }

  if (platforms.size === 0) return {unknown: 'the API server lists no nodes with a platform'}
  return {platforms: [...platforms].sort()}
}
