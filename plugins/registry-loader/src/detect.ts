import type {DetectOptions, KubeContextInfo, LoadTarget} from 'kudev'

/**
 * Claims a context only when the user named a registry (--registry or spec.registry): any cluster can
 * pull from one, so the context itself says nothing. The value is checked by the loader, which can make
 * kudev's errors (detect cannot); forced without a registry, the loader says one is needed.
 */
export function detectRegistry(context: KubeContextInfo, options: DetectOptions): LoadTarget | undefined {
  const registry = options.registry?.trim()
  if (registry) return {context: context.name, params: {registry}}
  return options.forced ? {context: context.name, params: {}} : undefined
}
