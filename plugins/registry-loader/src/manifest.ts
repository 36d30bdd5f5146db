/** Manifests as registries serve them, and as `docker manifest inspect --verbose` prints them. */

export interface Descriptor {
  digest?: unknown
  platform?: {architecture?: unknown; os?: unknown; variant?: unknown}
}

export interface Manifest {
  mediaType?: unknown
  config?: Descriptor
  manifests?: Descriptor[]
}

/** What the registry serves under an image's tag: the manifest's digest and its config digest (for the engine's platform). */
export interface Served {
  manifest: string
  config?: string
}

/** An index entry for `os/arch[/variant]` (an entry without a variant matches any). */
export function samePlatform(descriptor: Descriptor, platform: string): boolean {
  const [os, architecture, variant] = platform.split('/')
  const entry = descriptor.platform
  return (
    entry !== undefined &&
    entry.os === os &&
    entry.architecture === architecture &&
    (variant === undefined || entry.variant === undefined || entry.variant === variant)
  )
}

/** One object of `docker manifest inspect --verbose` (docker/cli's ImageManifest). */
interface InspectedManifest {
  Ref?: unknown
  Descriptor?: Descriptor
  /** CLI 20.10 and 28 for Docker's media type; CLI 28 prints OCI manifests as OCIManifest. */
  SchemaV2Manifest?: Manifest
  OCIManifest?: Manifest
}

/**
 * What `docker manifest inspect --verbose` says is served: one object for a manifest, an array of them
 * (one per platform) for an index, where the entry for `platform` counts. Undefined when the output is
 * not of that shape, or an index has no entry for the platform.
 *
 * For an index, the CLI does not print the index's own digest: `manifest` is then the platform
 * manifest's digest.
 */
export function servedFromInspect(stdout: string, platform: string): Served | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    return undefined
  }

  const entries = (Array.isArray(parsed) ? parsed : [parsed]) as (InspectedManifest | null)[]
  const entry = Array.isArray(parsed)
    ? entries.find((candidate) => candidate?.Descriptor !== undefined && samePlatform(candidate.Descriptor, platform))
    : entries[0]
  const manifest = entry?.Descriptor?.digest
  if (typeof manifest !== 'string') return undefined
  const config = (entry?.SchemaV2Manifest ?? entry?.OCIManifest)?.config?.digest
  return {config: typeof config === 'string' ? config : undefined, manifest}
}
