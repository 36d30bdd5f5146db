import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/**
 * The names `microk8s config` writes (microk8s-resources/client.config.template in canonical/microk8s):
 * context `microk8s` on cluster `microk8s-cluster`. The cluster entry keeps its name when the context is
 * renamed or merged into another kubeconfig under a new name, so only the cluster is matched (as tilt's
 * clusterid.ProductFromContext does); a context named `microk8s` on another cluster is not MicroK8s.
 */
const CLUSTER = 'microk8s-cluster'

/** MicroK8s runs one cluster per machine, so the target needs no parameters. */
export function detectMicrok8s(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  return forced || context.cluster === CLUSTER ? {context: context.name, params: {}} : undefined
}
