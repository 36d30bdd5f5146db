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
import type {SecureContext} from 'node:tls'

import {type Manifest, samePlatform, type Served, servedFromInspect} from './manifest.js'
import {pushRefFor, parseRegistry, type Registry, REGISTRY_FORM, registryRepository} from './reference.js'
import {type Answer, bearerChallenge, type Endpoint, get, header, RequestFailure} from './transport.js'
import {
  defaultCertsDir,
  dockerSecurity,
  isLoopback,
  readCertsDir,
  type RegistryConfig,
  secureContextFor,
  type Security,
} from './trust.js'

export type {Served} from './manifest.js'

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
const PODMAN = 'podman'

export interface RegistryLoaderOptions {
  timeoutMs?: number
  /** Docker's certs.d folder (default: KUDEV_DOCKER_CERTS_D, else Docker's own; see trust.ts). */
  certsDir?: string
  /** Treat every registry so instead of following Docker's rules (tests: 'secure' verifies a loopback registry's certificate). */
  security?: Security
}

/** How kudev reaches one registry: Docker's verdict, the endpoints it implies, the one that answered. */
interface Connection {
  security: Security
  endpoints: Endpoint[]
  /** The endpoint that gave an HTTP answer: later requests go there only. */
  answered?: Endpoint
  /** Why HTTPS failed before plain HTTP was tried (an insecure registry's first endpoint). */
  httpsFailure?: RequestFailure
  /** A secure registry without certs.d files: the context with the system's CA bundle, made on a certificate failure. */
  systemTrust?: () => Promise<SecureContext>
}

/** What the registry answered for a manifest. */
type ManifestAnswer =
  | {kind: 'credentials'; answer: Answer}
  | {kind: 'manifest'; manifest: Manifest; digest: string; contentType: string}
  | {kind: 'missing'}

/**
 * Pushes to the registry the user named — with `docker push` from the Docker daemon, with `podman push`
 * from podman's store — and checks through the registry's API (v2) that it serves the image: the
 * manifest's config digest (or, with Docker's containerd image store, the manifest's own digest) must be
 * the image ID. The API is read as Docker reads it (trust.ts); a registry that wants credentials is read
 * through `docker manifest inspect`, with the credentials `docker login` stored: kudev never reads them.
 */
export class RegistryLoader implements Loader {
  readonly name = 'registry'

  private readonly timeoutMs: number
  private readonly certsDir: string
  private readonly connections = new Map<string, Promise<Connection>>()
  /** The same, once known (for errors, which are made synchronously). */
  private readonly resolved = new Map<string, Connection>()
  private readonly tokens = new Map<string, Promise<string | undefined>>()
  private registryConfig?: Promise<RegistryConfig>

  constructor(
    private readonly toolkit: PluginToolkit,
    private readonly options: RegistryLoaderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
    this.certsDir = options.certsDir ?? defaultCertsDir()
  }

  /**
   * The name pods must use: the pushed name (`<registry>/<image name without any registry host>:<tag>`), with
   * the registry as the nodes reach it when the cluster advertised another name for them (KEP-1755's
   * hostFromContainerRuntime: kind's recipe pushes to `localhost:5001`, nodes pull `kind-registry:5000`).
   */
  clusterRef(image: ImageRef, target: LoadTarget): string {
    const registry = this.registry(target)
    const pulled = target.params.pullRegistry ? parseRegistry(target.params.pullRegistry) : undefined
    return pushRefFor(
      typeof pulled === 'object' ? {...pulled, path: pulled.path || registry.path} : registry,
      image.ref,
    )
  }

  /** For `kudev doctor`: whether the registry answers its API's base endpoint, `GET /v2/`. */
  async diagnose(target: LoadTarget): Promise<Diagnostic[]> {
    return [
      await this.toolkit.diagnostic('registry', async () => {
        const registry = this.registry(target)
        const answer = await this.read(registry, '/v2/', 'application/json', undefined)
        if (answer.status >= 200 && answer.status < 300) return `${registry.name} answers (registry API v2)`
        if (answer.status === 401)
          return {
            hint: `kudev reads it through docker manifest inspect, with the credentials of docker login ${registry.host}`,
            summary: `${registry.name} answers (registry API v2) and wants credentials`,
          }
        throw this.statusError(registry, answer)
      }),
    ]
  }

  async has(image: ImageRef, target: LoadTarget): Promise<boolean> {
    const registry = this.registry(target)
    return matches(await this.served(image, registry), image)
  }

  /**
   * Tags the image `<pushRef>` and pushes it (Docker and podman send only the layers the registry
   * lacks), then checks the registry serves it. The tag it made goes again when anything fails.
   */
  async load(
    image: LoadableImage,
    target: LoadTarget,
    signal: AbortSignal,
    _options: LoadOptions = {},
  ): Promise<LoadReport> {
    const registry = this.registry(target)
    const pushRef = pushRefFor(registry, image.ref)
    // Known before pushing: podman's TLS flag depends on it, and so do the hints of a failed push.
    await this.connection(registry)
    const engine = image.inDockerDaemon ? 'docker' : await this.podmanHolds(image)
    if (engine === undefined) {
      throw this.toolkit.error(
        'load',
        `the registry loader pushes with docker or podman, and ${image.ref} (${image.id}) is neither in the Docker daemon nor in podman's image store`,
        {
          data: {image: image.ref, registry: registry.name},
          hint: 'build with --builder docker or --builder podman to push to a registry',
        },
      )
    }

    await this.checkPlatform(image, engine, target, signal)
    const tagged = pushRef !== image.ref
    try {
      const pushed =
        engine === 'docker'
          ? await this.dockerPush(image, pushRef, tagged, signal)
          : await this.podmanPush(image, registry, pushRef, tagged, signal)
      if (pushed.exitCode !== 0) throw this.pushFailed(engine, registry, pushRef, pushed)
      const served = await this.served(image, registry, signal)
      if (!matches(served, image)) {
        const what = served === undefined ? 'nothing under that tag' : (served.config ?? `manifest ${served.manifest}`)
        throw this.toolkit.error(
          'load',
          `the registry ${registry.name} accepted the push of ${pushRef} but serves ${what}, not ${image.id}`,
          {
            data: {pushRef, id: image.id, registry: registry.name, served},
            hint: 'another push to the same tag may have raced this one, or something in front of the registry (a proxy, a mirror) answers for it: run kudev up again, and check the registry with kudev doctor',
          },
        )
      }
    } catch (error) {
      if (tagged) await this.untag(engine, image, pushRef)
      throw error
    }

    return {method: `${engine} push ${pushRef}`, nodes: []}
  }

  /**
   * Nodes pull what they can run: when the cluster's API lists its nodes, fail before pushing an image none
   * of them can run (an arm64 laptop, an amd64 cluster). Unlisted nodes (RBAC, unreachable) are not checked.
   */
  private async checkPlatform(
    image: LoadableImage,
    engine: 'docker' | 'podman',
    target: LoadTarget,
    signal: AbortSignal,
  ): Promise<void> {
    const nodes = await this.toolkit.nodePlatforms(target.context)
    if (nodes === undefined) return
    const args = ['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', image.id]
    const inspected =
      engine === 'docker'
        ? await this.toolkit.docker(args, `inspect ${image.ref}`, {errorCode: 'load', signal})
        : await this.podman(args, signal)
    const platform = inspected.stdout.trim()
    if (inspected.exitCode !== 0 || !/^[a-z0-9]+\/[a-z0-9]+$/.test(platform)) {
      this.toolkit.logger.debug(
        `cannot tell ${image.ref}'s platform (${platform}); it is not checked against the nodes'`,
      )
      return
    }

    if (nodes.includes(platform)) return
    const first = nodes[0]!
    throw this.toolkit.error(
      'load',
      `${image.ref} is built for ${platform}, and no node of ${target.context} runs ${platform} (the nodes run ${nodes.join(', ')})`,
      {
        data: {image: image.ref, nodes, platform},
        hint: `build for the cluster: --platform ${first}, or spec.platform: ${first} in .kudev.yaml (for another architecture the builder needs BuildKit with QEMU, or base images for it)`,
      },
    )
  }

  private async dockerPush(
    image: LoadableImage,
    pushRef: string,
    tag: boolean,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    if (tag)
      await this.toolkit.docker(['tag', image.ref, pushRef], `tag ${image.ref} as ${pushRef}`, {
        errorCode: 'load',
        signal,
      })
    return this.toolkit.docker(['push', pushRef], `push ${pushRef}`, {
      accept: () => true,
      errorCode: 'load',
      onLine: (line) => this.toolkit.logger.debug(`docker push: ${line}`),
      signal,
    })
  }

  /**
   * `podman push`, with `--tls-verify=false` for the registries Docker treats as insecure: podman has no
   * such default for loopback (it refuses a plain-HTTP or self-signed 127.0.0.1 registry without the flag).
   * Podman reads its own login (`podman login`), and Docker's config.json when it has none.
   */
  private async podmanPush(
    image: LoadableImage,
    registry: Registry,
    pushRef: string,
    tag: boolean,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    if (tag) {
      const tagged = await this.podman(['tag', podmanId(image), pushRef], signal)
      if (tagged.exitCode !== 0)
        throw this.toolkit.error(
          'load',
          `could not tag ${image.ref} as ${pushRef} in podman: ${this.toolkit.lastLines(tagged.stderr).at(-1) ?? `exit code ${tagged.exitCode}`}`,
          {hint: 'rerun with -v to see every command kudev runs'},
        )
    }

    const {security} = await this.connection(registry)
    return this.podman(['push', ...(security === 'insecure' ? ['--tls-verify=false'] : []), pushRef], signal, (line) =>
      this.toolkit.logger.debug(`podman push: ${line}`),
    )
  }

  /** 'podman' when podman's store holds an image with this ID (the podman builder's, or buildah's); else undefined. */
  private async podmanHolds(image: LoadableImage): Promise<'podman' | undefined> {
    try {
      const result = await this.podman(['image', 'exists', podmanId(image)])
      return result.exitCode === 0 ? 'podman' : undefined
    } catch (error) {
      this.toolkit.logger.debug(`podman cannot be asked for ${image.ref}: ${(error as Error).message}`)
      return undefined
    }
  }

  private podman(args: string[], signal?: AbortSignal, onLine?: (line: string) => void): Promise<ExecResult> {
    return this.toolkit.exec(PODMAN, args, {
      allowFailure: true,
      errorCode: 'load',
      notFoundHint: 'install podman (https://podman.io/docs/installation), or put podman on PATH',
      onLine,
      signal,
    })
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
    if (top.kind === 'missing') return undefined
    if (top.kind === 'credentials') return this.servedThroughDocker(registry, image, top.answer, signal)
    let {manifest} = top
    if (
      INDEX_TYPES.has(typeof manifest.mediaType === 'string' ? manifest.mediaType : top.contentType) ||
      Array.isArray(manifest.manifests)
    ) {
      const {platform} = await this.toolkit.dockerHost()
      const entry = manifest.manifests?.find((descriptor) => samePlatform(descriptor, platform))
      if (typeof entry?.digest !== 'string') return {manifest: top.digest}
      const child = await this.manifest(registry, repository, entry.digest, signal)
      if (child.kind === 'credentials') return this.servedThroughDocker(registry, image, child.answer, signal)
      if (child.kind === 'missing') return {manifest: top.digest}
      manifest = child.manifest
    }

    const config = manifest.config?.digest
    return {config: typeof config === 'string' ? config : undefined, manifest: top.digest}
  }

  /** `GET /v2/<repository>/manifests/<reference>`: missing on 404, credentials on 401/403, an error on any other failure. */
  private async manifest(
    registry: Registry,
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<ManifestAnswer> {
    const answer = await this.read(registry, `/v2/${repository}/manifests/${reference}`, ACCEPT, repository, signal)
    if (answer.status === 404) {
      if (fromRegistry(answer)) return {kind: 'missing'}
      // A 404 without a registry's marks: is anything there a registry at all? It answers /v2/ with 200 or 401.
      const base = await this.read(registry, '/v2/', 'application/json', undefined, signal)
      if (base.status === 200 || base.status === 401) return {kind: 'missing'}
      throw this.toolkit.error(
        'load',
        `${registry.host} does not answer as a registry: GET ${answer.url} answered ${statusLine(answer)}, and GET ${base.url} ${statusLine(base)}`,
        {
          data: {registry: registry.name, status: base.status, url: base.url},
          hint: `check the host and port in --registry or spec.registry: a registry's ${this.curl(registry)} answers 200 or 401`,
        },
      )
    }

    if (answer.status === 401 || answer.status === 403) return {answer, kind: 'credentials'}
    if (answer.status !== 200) throw this.statusError(registry, answer)
    let manifest: Manifest
    try {
      manifest = JSON.parse(answer.body.toString('utf8')) as Manifest
    } catch {
      throw this.badAnswer(registry, answer.url, 'not JSON')
    }

    if (manifest === null || typeof manifest !== 'object') throw this.badAnswer(registry, answer.url, 'not a manifest')
    const digest =
      header(answer, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(answer.body).digest('hex')}`
    const contentType = (header(answer, 'content-type') ?? '').split(';')[0]!.trim()
    return {contentType, digest, kind: 'manifest', manifest}
  }

  /**
   * Asks Docker, which holds the credentials of `docker login` (in its config or a credential helper), for
   * what the registry serves: `docker manifest inspect --verbose` (`--insecure` where Docker's rules make
   * the registry insecure, which the CLI does not know by itself). The docker CLI talks to the registry
   * itself, not the daemon. Experimental before CLI 20.10, hence the variable; 20.10 and later ignore it.
   */
  private async servedThroughDocker(
    registry: Registry,
    image: ImageRef,
    answer: Answer,
    signal?: AbortSignal,
  ): Promise<Served | undefined> {
    const pushRef = pushRefFor(registry, image.ref)
    const {security} = await this.connection(registry)
    this.toolkit.logger.debug(
      `registry ${registry.name} answered GET ${answer.url} with ${answer.status}: asking docker, which has the credentials of docker login`,
    )
    const result = await this.toolkit.docker(
      ['manifest', 'inspect', ...(security === 'insecure' ? ['--insecure'] : []), '--verbose', pushRef],
      `read the manifest of ${pushRef} through docker`,
      {accept: () => true, env: {DOCKER_CLI_EXPERIMENTAL: 'enabled'}, errorCode: 'load', signal},
    )
    if (result.exitCode === 0) {
      const {platform} = await this.toolkit.dockerHost()
      const served = servedFromInspect(result.stdout, platform)
      if (served === undefined)
        throw this.toolkit.error(
          'load',
          `docker manifest inspect ${pushRef} printed something kudev cannot read (no manifest for ${platform})`,
          {data: {pushRef, registry: registry.name}, hint: `run docker manifest inspect --verbose ${pushRef}`},
        )
      return served
    }

    const said = this.toolkit.lastLines(result.stderr).at(-1) ?? `exit code ${result.exitCode}`
    const data = {pushRef, registry: registry.name, status: answer.status, url: answer.url}
    // The CLI says so both when the tag is not there and when docker login's password is wrong (it gets a 401 either way).
    if (/no such manifest/i.test(result.stderr)) return undefined
    if (/denied/i.test(result.stderr))
      return this.deniedError(registry, answer, `docker manifest inspect: ${said}`, data)
    if (
      /no basic auth credentials|unauthorized|authentication required|401/i.test(result.stderr) ||
      answer.status === 401
    )
      throw this.toolkit.error(
        'load',
        `registry ${registry.name} wants credentials (GET ${answer.url}: ${statusLine(answer)}), and docker has none that work for it (docker manifest inspect: ${said})`,
        {
          data,
          hint: `log in once: docker login ${registry.host} (kudev asks docker; it never reads credentials itself)`,
        },
      )
    return this.deniedError(registry, answer, `docker manifest inspect: ${said}`, data)
  }

  private deniedError(registry: Registry, answer: Answer, said: string, data: Record<string, unknown>): never {
    throw this.toolkit.error(
      'load',
      `registry ${registry.name} denied access (GET ${answer.url}: ${statusLine(answer)}; ${said})`,
      {
        data,
        hint: `log in with an account allowed to read it: docker login ${registry.host}`,
      },
    )
  }

  /**
   * A GET as Docker would make it, anonymous: on `401` with a Bearer challenge, an anonymous token from
   * the challenge's realm (registries like Docker Hub, ghcr.io and GitLab's give them for public
   * repositories) and the request again with it. The answer whatever its status; an error when no
   * endpoint answered.
   */
  private async read(
    registry: Registry,
    path: string,
    accept: string,
    repository: string | undefined,
    signal?: AbortSignal,
  ): Promise<Answer> {
    const answer = await this.request(registry, path, {accept}, signal)
    if (answer.status !== 401) return answer
    const challenge = bearerChallenge(header(answer, 'www-authenticate'))
    if (challenge === undefined) return answer
    const token = await this.anonymousToken(registry, challenge, repository, signal)
    if (token === undefined) return answer
    return this.request(registry, path, {accept, authorization: `Bearer ${token}`}, signal)
  }

  /** A token the realm gives without credentials for pulling `repository`, or undefined when it gives none. */
  private anonymousToken(
    registry: Registry,
    challenge: Record<string, string>,
    repository: string | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    let realm: URL
    try {
      realm = new URL(challenge.realm!)
    } catch {
      return Promise.resolve(undefined)
    }

    if (challenge.service !== undefined) realm.searchParams.set('service', challenge.service)
    const scope = challenge.scope ?? (repository === undefined ? undefined : `repository:${repository}:pull`)
    if (scope !== undefined) realm.searchParams.set('scope', scope)
    const key = realm.toString()
    let token = this.tokens.get(key)
    if (token === undefined) {
      token = this.fetchToken(registry, realm, signal)
      this.tokens.set(key, token)
    }

    return token
  }

  private async fetchToken(registry: Registry, realm: URL, signal?: AbortSignal): Promise<string | undefined> {
    // The realm is often another host (auth.docker.io): verified with the system's CAs; on the registry's
    // own host, reached as the registry is.
    const connection = await this.connection(registry)
    const own =
      realm.host === registry.host ? connection.endpoints.find((e) => e.base.startsWith(realm.protocol)) : undefined
    const endpoint: Endpoint = own ?? {base: realm.origin, verify: true}
    this.toolkit.logger.debug(`GET ${realm.toString()} (an anonymous token)`)
    try {
      const answer = await get(endpoint, `${realm.pathname}${realm.search}`, {
        headers: {accept: 'application/json'},
        maxBytes: MAX_MANIFEST_BYTES,
        signal,
        timeoutMs: this.timeoutMs,
      })
      if (answer.status !== 200) {
        this.toolkit.logger.debug(`no anonymous token: ${answer.status} from ${realm.origin}${realm.pathname}`)
        return undefined
      }

      const body = JSON.parse(answer.body.toString('utf8')) as {token?: unknown; access_token?: unknown}
      const token = body.token ?? body.access_token
      return typeof token === 'string' && token !== '' ? token : undefined
    } catch (error) {
      if (error instanceof RequestFailure && error.kind === 'aborted')
        throw this.toolkit.error('interrupted', error.message)
      this.toolkit.logger.debug(`no anonymous token from ${realm.origin}${realm.pathname}: ${(error as Error).message}`)
      return undefined
    }
  }

  /** One GET, 5 s at most, through the registry's endpoints in Docker's order; an error that says what to check when none answers. */
  private async request(
    registry: Registry,
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Answer> {
    const connection = await this.connection(registry)
    const endpoints = connection.answered === undefined ? connection.endpoints : [connection.answered]
    for (let index = 0; index < endpoints.length; index++) {
      const endpoint = endpoints[index]!
      this.toolkit.logger.debug(`GET ${endpoint.base}${path}`)
      try {
        const answer = await get(endpoint, path, {
          headers,
          maxBytes: MAX_MANIFEST_BYTES,
          signal,
          timeoutMs: this.timeoutMs,
        })
        connection.answered = endpoint
        return answer
      } catch (error) {
        if (!(error instanceof RequestFailure)) throw error
        if (error.kind === 'aborted') throw this.toolkit.error('interrupted', error.message)
        if (error.kind === 'too-large') throw this.badAnswer(registry, error.url, error.message)
        if (error.certificate && connection.systemTrust !== undefined) {
          const trust = connection.systemTrust
          connection.systemTrust = undefined
          this.toolkit.logger.debug(
            `${error.url}: ${error.code} with Node's CAs; again with the system's CA bundle too, which Docker trusts`,
          )
          endpoint.secureContext = await trust()
          index--
          continue
        }

        if (index < endpoints.length - 1 && error.protocolLevel) {
          this.toolkit.logger.debug(
            `${error.url}: ${error.code ?? error.message}; trying plain HTTP, as Docker does for an insecure registry`,
          )
          connection.httpsFailure = error
          continue
        }

        throw this.unreachable(registry, connection, error)
      }
    }

    throw new Error('a registry without endpoints')
  }

  /** How to reach the registry, worked out once per registry (Docker's rules: trust.ts). */
  private connection(registry: Registry): Promise<Connection> {
    let connection = this.connections.get(registry.host)
    if (connection === undefined) {
      connection = this.connect(registry).then((known) => {
        this.resolved.set(registry.host, known)
        return known
      })
      this.connections.set(registry.host, connection)
    }

    return connection
  }

  private async connect(registry: Registry): Promise<Connection> {
    const security =
      this.options.security ??
      (isLoopback(registry.hostname)
        ? 'insecure'
        : await dockerSecurity(registry.host, await this.dockerRegistryConfig()))
    if (security === 'insecure') {
      this.toolkit.logger.debug(
        `registry ${registry.host} is insecure to Docker: HTTPS without verifying its certificate, then plain HTTP`,
      )
      return {
        endpoints: [
          {base: `https://${registry.host}`, verify: false},
          {base: `http://${registry.host}`, verify: false},
        ],
        security,
      }
    }

    try {
      const content = await readCertsDir(this.certsDir, registry.host)
      if (content.caFiles.length === 0 && content.client === undefined) {
        // Node's own CAs first: building a context with the system's bundle as well costs about 0.1 s, worth
        // paying only for a certificate they do not cover (a CA added with update-ca-certificates).
        return {
          endpoints: [{base: `https://${registry.host}`, verify: true}],
          security,
          systemTrust: () => secureContextFor(content),
        }
      }

      this.toolkit.logger.debug(
        `registry ${registry.host}: trusting ${[...content.caFiles, content.client?.certFile].filter(Boolean).join(', ')} as well`,
      )
      const secureContext = await secureContextFor(content)
      return {endpoints: [{base: `https://${registry.host}`, secureContext, verify: true}], security}
    } catch (error) {
      throw this.toolkit.error(
        'load',
        `cannot use the certificates for registry ${registry.name}: ${(error as Error).message}`,
        {
          data: {certsDir: this.certsDir, registry: registry.name},
          hint: `${this.certsDir}/${registry.host}/ holds CAs as *.crt and a client certificate as NAME.cert with NAME.key, as Docker reads them`,
        },
      )
    }
  }

  /** The daemon's insecure registries (`docker info`), once per run; none when Docker cannot be asked. */
  private dockerRegistryConfig(): Promise<RegistryConfig> {
    this.registryConfig ??= this.toolkit
      .docker(['info', '--format', '{{json .RegistryConfig}}'], "ask Docker for its registries' settings")
      .then(
        (result) => parseRegistryConfig(result.stdout),
        (error: Error) => {
          this.toolkit.logger.debug(
            `Docker's insecure registries are unknown (${error.message}): only loopback ones are`,
          )
          return {}
        },
      )
    return this.registryConfig
  }

  private unreachable(registry: Registry, connection: Connection, failure: RequestFailure): Error {
    const {code, url} = failure
    const data = {code, registry: registry.name, url}
    const running = `is the registry running? ${this.curl(registry)} should answer`
    if (failure.kind === 'timeout') {
      return this.toolkit.error(
        'load',
        `registry ${registry.name} did not answer within ${this.timeoutMs / 1000} s (GET ${url})`,
        {
          data,
          hint: `${running}; a firewall or proxy may be dropping the connection`,
        },
      )
    }

    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return this.toolkit.error('load', `cannot reach registry ${registry.name}: no host named ${registry.hostname}`, {
        data,
        hint: 'check the registry name in --registry or spec.registry',
      })
    }

    if (failure.certificate) {
      const hints: Record<string, string> = {
        CERT_HAS_EXPIRED: 'its certificate has expired: the registry needs a new one',
        ERR_TLS_CERT_ALTNAME_INVALID: `the certificate does not name ${registry.hostname}: name the registry as its certificate does, or have one issued for ${registry.hostname}`,
      }
      const hint =
        hints[code ?? ''] ??
        `if the registry's certificate comes from a private CA, put that CA in ${this.certsDir}/${registry.host}/ca.crt (Docker reads it there too)`
      return this.toolkit.error(
        'load',
        `cannot trust registry ${registry.name}: ${failure.message} (${code}, GET ${url})`,
        {
          data,
          hint,
        },
      )
    }

    if (failure.clientCertificate) {
      return this.toolkit.error(
        'load',
        `registry ${registry.name} wants a client certificate it accepts (${code}, GET ${url})`,
        {
          data,
          hint: `put the client certificate and its key in ${this.certsDir}/${registry.host}/ as NAME.cert and NAME.key, as Docker reads them`,
        },
      )
    }

    if (url.startsWith('https:') && failure.protocolLevel && connection.security === 'secure') {
      const plain = /wrong version number|packet length|http request/i.test(failure.message)
      return this.toolkit.error('load', `cannot reach registry ${registry.name} over HTTPS: ${failure.message}`, {
        data,
        hint: plain
          ? `it seems to serve plain HTTP: Docker and kudev use plain HTTP only for insecure registries; add "${registry.host}" to "insecure-registries" in Docker's daemon.json and restart Docker (kudev reads that list from docker info), or serve it over HTTPS`
          : running,
      })
    }

    return this.toolkit.error(
      'load',
      `cannot reach registry ${registry.name}: ${code ?? failure.message} (GET ${url})`,
      {
        data,
        hint: running,
      },
    )
  }

  /** A clear error for an HTTP status other than 200, 404, and the 401/403 docker answers for. */
  private statusError(registry: Registry, answer: Answer): Error {
    const status = statusLine(answer)
    const {url} = answer
    const data = {registry: registry.name, status: answer.status, url}
    if (answer.status === 403) {
      return this.toolkit.error('load', `registry ${registry.name} denied access (GET ${url}: ${status})`, {
        data,
        hint: `log in with an account allowed to read it: docker login ${registry.host}`,
      })
    }

    if (answer.status >= 500) {
      return this.toolkit.error('load', `registry ${registry.name} failed (GET ${url}: ${status})`, {
        data,
        hint: "the registry's own log says why (its storage, its configuration); try again once it answers kudev doctor",
      })
    }

    if (answer.status === 400 && url.startsWith('http:')) {
      return this.toolkit.error('load', `registry ${registry.name} refused plain HTTP (GET ${url}: ${status})`, {
        data,
        hint: `it serves HTTPS, which failed first: ${this.httpsFailureOf(registry) ?? 'see -v'}`,
      })
    }

    return this.toolkit.error('load', `registry ${registry.name} answered GET ${url} with ${status}`, {
      data,
      hint: `is ${registry.host} a registry (API v2)? ${this.curl(registry)} should answer 200 or 401`,
    })
  }

  private httpsFailureOf(registry: Registry): string | undefined {
    return this.resolved.get(registry.host)?.httpsFailure?.message
  }

  /** The curl that shows what the registry's base endpoint answers, as kudev reaches it. */
  private curl(registry: Registry): string {
    return this.resolved.get(registry.host)?.security === 'insecure'
      ? `curl -k https://${registry.host}/v2/ (or curl http://${registry.host}/v2/)`
      : `curl https://${registry.host}/v2/`
  }

  private badAnswer(registry: Registry, url: string, what: string): Error {
    return this.toolkit.error(
      'load',
      `registry ${registry.name} answered GET ${url} with something that is not a manifest (${what})`,
      {
        data: {registry: registry.name, url},
        hint: `is ${registry.host} a registry (API v2)? ${this.curl(registry)} should answer`,
      },
    )
  }

  /** docker push's and podman push's failures, each with what to do about it. */
  private pushFailed(engine: Engine, registry: Registry, pushRef: string, result: ExecResult): Error {
    const lines = this.toolkit.lastLines(`${result.stderr}\n${result.stdout}`)
    const output = lines.join('\n')
    const reason = this.toolkit.lastLines(result.stderr).at(-1) ?? lines.at(-1) ?? `exit code ${result.exitCode}`
    const hint =
      KNOWN_PUSH_FAILURES.find(([pattern]) => pattern.test(output))?.[1]({
        certsDir: this.certsDir,
        curl: this.curl(registry),
        engine,
        registry,
      }) ?? `the lines above are the end of ${engine} push's output; rerun with -v to see all of it`
    return this.toolkit.error('load', `${engine} push ${pushRef} failed: ${reason.replace(/^Error: /, '')}`, {
      data: {pushRef, exitCode: result.exitCode, registry: registry.name},
      details: lines.filter((line) => line !== reason),
      hint,
    })
  }

  /** Removes the tag load() made (the image keeps its own name; removing one of its tags only untags). */
  private async untag(engine: Engine | undefined, image: LoadableImage, pushRef: string): Promise<void> {
    try {
      if (engine === 'podman') {
        const result = await this.podman(['untag', podmanId(image), pushRef])
        if (result.exitCode !== 0 && !/not known|no such/i.test(result.stderr))
          throw new Error(this.toolkit.lastLines(result.stderr).at(-1) ?? `exit code ${result.exitCode}`)
      } else
        await this.toolkit.docker(['image', 'rm', pushRef], `remove the tag ${pushRef}`, {
          accept: (result) => /no such image/i.test(result.stderr),
          errorCode: 'load',
        })
    } catch (error) {
      this.toolkit.logger.warn(`could not remove the tag ${pushRef}: ${(error as Error).message}`)
    }
  }
}

type Engine = 'docker' | 'podman'

interface PushContext {
  registry: Registry
  engine: Engine
  certsDir: string
  curl: string
}

const KNOWN_PUSH_FAILURES: [RegExp, (context: PushContext) => string][] = [
  [
    /server gave HTTP response to HTTPS client/,
    ({registry}) =>
      `the registry serves plain HTTP: add "${registry.host}" to "insecure-registries" in Docker's daemon.json (/etc/docker/daemon.json, or Docker Desktop's settings) and restart Docker`,
  ],
  [
    /unauthorized|authentication required|denied|no basic auth credentials/i,
    ({engine, registry}) =>
      engine === 'podman'
        ? `log in to the registry: podman login ${registry.host} (podman also reads docker login's credentials)`
        : `log in to the registry: docker login ${registry.host}`,
  ],
  [
    /x509|certificate/i,
    ({certsDir, engine, registry}) =>
      engine === 'podman'
        ? `podman does not trust the registry's certificate: put its CA in ${certsDir}/${registry.host}/ca.crt or /etc/containers/certs.d/${registry.host}/ca.crt`
        : `Docker does not trust the registry's certificate: put its CA in ${certsDir}/${registry.host}/ca.crt`,
  ],
  [
    /connection refused|no such host|i\/o timeout|dial tcp|connection reset/i,
    ({curl}) => `is the registry running? ${curl} should answer`,
  ],
]

/** `docker info`'s RegistryConfig; nothing when it is not JSON (an engine too old to have it). */
function parseRegistryConfig(stdout: string): RegistryConfig {
  try {
    const parsed = JSON.parse(stdout) as RegistryConfig | null
    return parsed !== null && typeof parsed === 'object' ? parsed : {}
  } catch {
    return {}
  }
}

/** A 404 as registries give it: their API version header, or the spec's JSON error body. */
function fromRegistry(answer: Answer): boolean {
  if (header(answer, 'docker-distribution-api-version') !== undefined) return true
  try {
    return Array.isArray((JSON.parse(answer.body.toString('utf8')) as {errors?: unknown}).errors)
  } catch {
    return false
  }
}

function matches(served: Served | undefined, image: ImageRef): boolean {
  return served !== undefined && (served.config === image.id || served.manifest === image.id)
}

/** Podman takes an image ID without its `sha256:`. */
function podmanId(image: ImageRef): string {
  return image.id.replace(/^sha256:/, '')
}

function statusLine(answer: Answer): string {
  return `${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`
}
