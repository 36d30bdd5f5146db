import type {
  Diagnostic,
  ExecResult,
  ImageRef,
  LoadableImage,
  Loader,
  LoadOptions,
  LoadReport,
  LoadTarget,
  PluginToolkit,
} from 'kudev'
import {createHash} from 'node:crypto'

import {clusterRefFor, parseRegistry, type Registry, REGISTRY_FORM, registryRepository} from './reference.js'

/** How long one registry API request may take. */
export const REQUEST_TIMEOUT_MS = 5000

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
])
const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  ...INDEX_TYPES,
].join(', ')
/** A manifest is a few kB; an answer this large is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

interface Descriptor {
  digest?: unknown
  platform?: {architecture?: unknown; os?: unknown; variant?: unknown}
}

interface Manifest {
  mediaType?: unknown
  config?: Descriptor
  manifests?: Descriptor[]
}

/** What the registry serves under an image's tag: the manifest's digest and its config digest (for the engine's platform). */
export interface Served {
  manifest: string
  config?: string
}

/**
 * Pushes with `docker push` to the registry the user named, and checks through the registry's API (v2)
 * that it serves the image: the manifest's config digest (or, with Docker's containerd image store, the
 * manifest's own digest) must be the image ID.
 */
export class RegistryLoader implements Loader {
  readonly name = 'registry'

  private readonly timeoutMs: number

  constructor(
    private readonly toolkit: PluginToolkit,
    options: {timeoutMs?: number} = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
  }

  /** The name pods must use: `<registry>/<image name without any registry host>:<tag>`. */
  clusterRef(image: ImageRef, target: LoadTarget): string {
    return clusterRefFor(this.registry(target), image.ref)
  }

  /** For `kudev doctor`: whether the registry answers its API's base endpoint, `GET /v2/`. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return [
      await this.toolkit.diagnostic('registry', async () => {
        const registry = this.registry(target)
        const response = await this.request(registry, '/v2/', 'application/json')
        await response.body?.cancel()
        if (response.ok) return `${registry.name} answers (registry API v2)`
        throw this.statusError(registry, response, `${registry.base}/v2/`)
      }),
    ]
  }

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    return matches(await this.served(image, this.registry(target)), image)
  }

  /**
   * Tags the image `<clusterRef>` in Docker and pushes it (Docker sends only the layers the registry
   * lacks), then checks the registry serves it. The tag it made goes again when anything fails.
   */
  async load(
    image: LoadableImage,
    target: LoadTarget,
    signal: AbortSignal,
    _options: LoadOptions = {},
  ): Promise<LoadReport> {
    const registry = this.registry(target)
    const clusterRef = clusterRefFor(registry, image.ref)
    if (!image.inDockerDaemon) {
      throw this.toolkit.error(
        'load',
        `the registry loader pushes with docker, and ${image.ref} is not in the Docker daemon (its builder is not docker)`,
        {
          data: {image: image.ref, registry: registry.name},
          hint: 'build with --builder docker to push to a registry; pushing from other builders is not supported yet',
        },
      )
    }

    const tagged = clusterRef !== image.ref
    try {
      if (tagged)
        await this.toolkit.docker(['tag', image.ref, clusterRef], `tag ${image.ref} as ${clusterRef}`, {
          errorCode: 'load',
          signal,
        })
      const pushed = await this.toolkit.docker(['push', clusterRef], `push ${clusterRef}`, {
        accept: () => true,
        errorCode: 'load',
        onLine: (line) => this.toolkit.logger.debug(`docker push: ${line}`),
        signal,
      })
      if (pushed.exitCode !== 0) throw this.pushFailed(registry, clusterRef, pushed)
      const served = await this.served(image, registry, signal)
      if (!matches(served, image)) {
        const what = served === undefined ? 'nothing under that tag' : (served.config ?? `manifest ${served.manifest}`)
        throw this.toolkit.error(
          'load',
          `the registry ${registry.name} accepted the push of ${clusterRef} but serves ${what}, not ${image.id}`,
          {
            data: {clusterRef, id: image.id, registry: registry.name, served},
            hint: 'another push to the same tag may have raced this one, or something in front of the registry (a proxy, a mirror) answers for it: run kudev up again, and check the registry with kudev doctor',
          },
        )
      }
    } catch (error) {
      if (tagged) await this.untag(clusterRef)
      throw error
    }

    return {method: `docker push ${clusterRef}`, nodes: []}
  }

  /** The target's registry, or a usage error naming the value and the form it must have. */
  private registry(target: LoadTarget): Registry {
    const value = target.params.registry
    if (!value) {
      throw this.toolkit.error('usage', 'the registry loader needs a registry to push to', {
        hint: `name it with --registry ${REGISTRY_FORM.split(',')[0]} or spec.registry in .kudev.yaml`,
      })
    }

    const registry = parseRegistry(value)
    if (typeof registry === 'string') {
      throw this.toolkit.error('usage', `invalid registry "${value}": ${registry}`, {
        data: {registry: value},
        hint: `write it as ${REGISTRY_FORM}`,
      })
    }

    return registry
  }

  /** What the registry serves under the image's tag; undefined when it has no such tag (404). */
  private async served(image: ImageRef, registry: Registry, signal?: AbortSignal): Promise<Served | undefined> {
    const {repository, tag} = registryRepository(registry, image.ref)
    const top = await this.manifest(registry, repository, tag, signal)
    if (top === undefined) return undefined
    let {manifest} = top
    if (
      INDEX_TYPES.has(typeof manifest.mediaType === 'string' ? manifest.mediaType : top.contentType) ||
      Array.isArray(manifest.manifests)
    ) {
      const {platform} = await this.toolkit.dockerHost()
      const entry = manifest.manifests?.find((descriptor) => samePlatform(descriptor, platform))
      if (typeof entry?.digest !== 'string') return {manifest: top.digest}
      const child = await this.manifest(registry, repository, entry.digest, signal)
      if (child === undefined) return {manifest: top.digest}
      manifest = child.manifest
    }

    const config = manifest.config?.digest
    return {config: typeof config === 'string' ? config : undefined, manifest: top.digest}
  }

  /** `GET /v2/<repository>/manifests/<reference>`: undefined on 404, an error on any other failure. */
  private async manifest(
    registry: Registry,
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<{manifest: Manifest; digest: string; contentType: string} | undefined> {
    const path = `/v2/${repository}/manifests/${reference}`
    const response = await this.request(registry, path, ACCEPT, signal)
    if (response.status === 404) {
      await response.body?.cancel()
      return undefined
    }

    if (!response.ok) throw this.statusError(registry, response, `${registry.base}${path}`)
    const body = Buffer.from(await response.arrayBuffer())
    const url = `${registry.base}${path}`
    if (body.length > MAX_MANIFEST_BYTES) throw this.badAnswer(registry, url, `${body.length} bytes`)
    let manifest: Manifest
    try {
      manifest = JSON.parse(body.toString('utf8')) as Manifest
    } catch {
      throw this.badAnswer(registry, url, 'not JSON')
    }

    if (manifest === null || typeof manifest !== 'object') throw this.badAnswer(registry, url, 'not a manifest')
    const digest =
      response.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim()
    return {contentType, digest, manifest}
  }

  /** One API request, 5 s at most; a registry that cannot be reached is an error that says what to check. */
  private async request(registry: Registry, path: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const url = `${registry.base}${path}`
    const timeout = AbortSignal.timeout(this.timeoutMs)
    this.toolkit.logger.debug(`GET ${url}`)
    try {
      return await fetch(url, {
        headers: {accept},
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      })
    } catch (error) {
      if (signal?.aborted) throw this.toolkit.error('interrupted', `interrupted: GET ${url}`)
      throw this.unreachable(registry, url, error)
    }
  }

  private unreachable(registry: Registry, url: string, error: unknown): Error {
    const cause = (error as {cause?: {code?: unknown; message?: unknown}}).cause
    const code = typeof cause?.code === 'string' ? cause.code : undefined
    const data = {code, registry: registry.name, url}
    const running = `is the registry running? curl ${registry.base}/v2/ should answer`
    if ((error as Error).name === 'TimeoutError') {
      return this.toolkit.error(
        'load',
        `registry ${registry.name} did not answer within ${this.timeoutMs / 1000} s (GET ${url})`,
        {
          data,
          hint: `${running}; a firewall or proxy may be dropping the connection`,
        },
      )
    }

    const reason = typeof cause?.message === 'string' ? cause.message : (error as Error).message
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return this.toolkit.error(
        'load',
        `cannot reach registry ${registry.name}: no host named ${registry.host.replace(/:\d+$/, '')}`,
        {
          data,
          hint: 'check the registry name in --registry or spec.registry',
        },
      )
    }

    if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|ISSUER/.test(code)) {
      const plain = /WRONG_VERSION_NUMBER|PACKET_LENGTH|HTTP_REQUEST/.test(code)
      return this.toolkit.error('load', `cannot reach registry ${registry.name} over HTTPS: ${reason}`, {
        data,
        hint: plain
          ? `it seems to serve plain HTTP: kudev and Docker use plain HTTP only for loopback registries (add ${registry.host} to Docker's insecure-registries for docker push); serve it over HTTPS`
          : "kudev trusts the system's certificate authorities only (registries with a private CA are not supported yet)",
      })
    }

    return this.toolkit.error('load', `cannot reach registry ${registry.name}: ${code ?? reason} (GET ${url})`, {
      data,
      hint: running,
    })
  }

  /** A clear error for an HTTP status other than 200 and 404. */
  private statusError(registry: Registry, response: Response, url: string): Error {
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`
    const data = {registry: registry.name, status: response.status, url}
    if (response.status === 401) {
      return this.toolkit.error('load', `registry ${registry.name} wants credentials (GET ${url}: ${status})`, {
        data,
        hint: `kudev reads registries without credentials for now: allow anonymous pulls (docker login ${registry.host} is enough for docker push only)`,
      })
    }

    if (response.status === 403) {
      return this.toolkit.error('load', `registry ${registry.name} denied access (GET ${url}: ${status})`, {
        data,
        hint: `log in with an account allowed to read it: docker login ${registry.host} (kudev reads without credentials for now)`,
      })
    }

    if (response.status >= 500) {
      return this.toolkit.error('load', `registry ${registry.name} failed (GET ${url}: ${status})`, {
        data,
        hint: "the registry's own log says why (its storage, its configuration); try again once it answers kudev doctor",
      })
    }

    if (response.status === 400 && registry.base.startsWith('http:')) {
      return this.toolkit.error('load', `registry ${registry.name} refused plain HTTP (GET ${url}: ${status})`, {
        data,
        hint: 'it probably serves HTTPS: kudev talks plain HTTP to loopback registries and TLS there is not supported yet',
      })
    }

    return this.toolkit.error('load', `registry ${registry.name} answered GET ${url} with ${status}`, {
      data,
      hint: `is ${registry.host} a registry (API v2)? curl ${registry.base}/v2/ should answer 200 or 401`,
    })
  }

  private badAnswer(registry: Registry, url: string, what: string): Error {
    return this.toolkit.error(
      'load',
      `registry ${registry.name} answered GET ${url} with something that is not a manifest (${what})`,
      {
        data: {registry: registry.name, url},
        hint: `is ${registry.host} a registry (API v2)? curl ${registry.base}/v2/ should answer`,
      },
    )
  }

  /** docker push's failures, each with what to do about it. */
  private pushFailed(registry: Registry, clusterRef: string, result: ExecResult): Error {
    const lines = this.toolkit.lastLines(`${result.stderr}\n${result.stdout}`)
    const output = lines.join('\n')
    const reason = this.toolkit.lastLines(result.stderr).at(-1) ?? lines.at(-1) ?? `exit code ${result.exitCode}`
    const hint =
      KNOWN_PUSH_FAILURES.find(([pattern]) => pattern.test(output))?.[1](registry) ??
      "the lines above are the end of docker push's output; rerun with -v to see all of it"
    return this.toolkit.error('load', `docker push ${clusterRef} failed: ${reason}`, {
      data: {clusterRef, exitCode: result.exitCode, registry: registry.name},
      details: lines.filter((line) => line !== reason),
      hint,
    })
  }

  /** Removes the tag load() made (the image keeps its own name; `docker image rm` of one of its tags only untags). */
  private async untag(clusterRef: string): Promise<void> {
    try {
      await this.toolkit.docker(['image', 'rm', clusterRef], `remove the tag ${clusterRef}`, {
        accept: (result) => /no such image/i.test(result.stderr),
        errorCode: 'load',
      })
    } catch (error) {
      this.toolkit.logger.warn(`could not remove the tag ${clusterRef}: ${(error as Error).message}`)
    }
  }
}

const KNOWN_PUSH_FAILURES: [RegExp, (registry: Registry) => string][] = [
  [
    /server gave HTTP response to HTTPS client/,
    (registry) =>
      `the registry serves plain HTTP: add "${registry.host}" to "insecure-registries" in Docker's daemon.json (/etc/docker/daemon.json, or Docker Desktop's settings) and restart Docker`,
  ],
  [
    /unauthorized|authentication required|denied|no basic auth credentials/i,
    (registry) => `log in to the registry: docker login ${registry.host}`,
  ],
  [
    /x509|certificate/i,
    (registry) =>
      `Docker does not trust the registry's certificate: put its CA in /etc/docker/certs.d/${registry.host}/ca.crt`,
  ],
  [
    /connection refused|no such host|i\/o timeout|dial tcp|connection reset/i,
    (registry) => `is the registry running? curl ${registry.base}/v2/ should answer`,
  ],
]

function matches(served: Served | undefined, image: ImageRef): boolean {
  return served !== undefined && (served.config === image.id || served.manifest === image.id)
}

/** An index entry for `os/arch[/variant]` (an entry without a variant matches any). */
function samePlatform(descriptor: Descriptor, platform: string): boolean {
  const [os, architecture, variant] = platform.split('/')
  const entry = descriptor.platform
  return (
    entry !== undefined &&
    entry.os === os &&
    entry.architecture === architecture &&
    (variant === undefined || entry.variant === undefined || entry.variant === variant)
  )
}
