import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/*
 * The names come from what each product writes into the kubeconfig, and match tilt's product detection
 * (tilt-dev/clusterid product.go, ProductFromContext: cluster names `rancher-desktop…`, `colima…`, `orbstack`).
 * A renamed context keeps its cluster entry's name, so both are read.
 */

/**
 * Rancher Desktop renames the k3s context, its cluster and its user all to `rancher-desktop`
 * (rancher-desktop pkg/rancher-desktop/backend/k3sHelper.ts, K3sHelper.updateKubeconfig).
 */
export function detectRancherDesktop(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  return forced || named(context, (name) => name === 'rancher-desktop')
    ? {context: context.name, params: {}}
    : undefined
}

/** OrbStack's one cluster: context and cluster entry `orbstack` (closed source: tilt's ProductFromContext, docs.orbstack.dev/kubernetes). */
export function detectOrbStack(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  return forced || named(context, (name) => name === 'orbstack') ? {context: context.name, params: {}} : undefined
}

/**
 * colima names the context, cluster and user after the profile ID, `colima` for the default profile and
 * `colima-<profile>` for the others (abiosoft/colima config/profile.go, ProfileFromName;
 * environment/container/kubernetes/kubeconfig.go replaces k3s's `default` entries with the ID).
 * params.profile is the profile's short name, what `colima --profile` takes.
 */
export function detectColima(context: KubeContextInfo, {forced}: DetectOptions): LoadTarget | undefined {
  // The cluster entry, when there is one, decides: a context renamed colima-x may point at any cluster.
  const profile = colimaProfile(context.cluster ?? context.name)
  if (profile !== undefined) return {context: context.name, params: {profile}}
  // Forced onto another context: colima's own default, as `colima` without --profile.
  return forced ? {context: context.name, params: {profile: 'default'}} : undefined
}

/** The profile ID colima gives the profile `profile` (config/profile.go, ProfileFromName): its context, docker context and VM hostname. */
export function colimaProfileId(profile: string): string {
  return profile === 'default' ? 'colima' : `colima-${profile}`
}

function colimaProfile(name: string | undefined): string | undefined {
  if (name === 'colima') return 'default'
  return name?.startsWith('colima-') && name.length > 'colima-'.length ? name.slice('colima-'.length) : undefined
}

function named(context: KubeContextInfo, is: (name: string) => boolean): boolean {
  return is(context.name) || (context.cluster !== undefined && is(context.cluster))
}
