import type {Config} from '@oclif/core'

export interface BundledOverride {
  /** npm package name, the same as the bundled plugin's. */
  name: string
  version: string
  /** `user` (installed) or `link` (linked for development). */
  type: string
}

/**
 * Installed or linked plugins that replace a bundled one. oclif loads user and linked plugins before the
 * core ones and keeps the first plugin of each name, so the bundled copy is silently left out; kudev says so.
 */
export function bundledOverrides(oclif: Config): BundledOverride[] {
  // kudev's oclif.plugins lists exact package names, not patterns.
  const bundled = new Set(oclif.pjson.oclif.plugins ?? [])
  return oclif
    .getPluginsList()
    .filter((plugin) => (plugin.type === 'user' || plugin.type === 'link') && bundled.has(plugin.name))
    .map((plugin) => ({name: plugin.name, type: plugin.type, version: plugin.version}))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export function overrideNotice(override: BundledOverride): string {
  return `${override.name} ${override.version} (${override.type}) overrides the bundled ${override.name}`
}
