import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/**
 * Claims a context only when there is a registry to push to (named with --registry or spec.registry, or
 * advertised by the cluster): any cluster can pull from one, so the context itself says nothing. The value is checked by the loader, which can make
 * kudev's errors (detect cannot); forced without a registry, the loader says one is needed.
 */
export function detectRegistry(context: KubeContextInfo, options: DetectOptions): LoadTarget | undefined {
  const registry = options.registry?.trim()
  const pullRegistry = options.pullRegistry?.trim()
  if (registry) return {context: context.name, params: pullRegistry ? {pullRegistry, registry} : {registry}}
  return options.forced ? {context: context.name, params: {}} : undefined
}
