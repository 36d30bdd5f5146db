import {expect} from 'chai'
import type {LoadableImage, LoadTarget} from 'kudev'
import {type Answer, type FakeToolkit, fakeToolkit, rejection} from 'kudev/testing'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'

import {RegistryLoader} from '../src/loader.js'
import {get, RequestFailure} from '../src/transport.js'

const ID = `sha256:${'c'.repeat(64)}`
const OTHER = `sha256:${'d'.repeat(64)}`
const AMD64 = `sha256:${'2'.repeat(64)}`
const ARM64 = `sha256:${'3'.repeat(64)}`
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const signal = new AbortController().signal

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: ID,
    inDockerDaemon: true,
    ref: 'kudev-test/app:kudev-1a2b3c4d',
    save: () => Promise.resolve(Readable.from([])),
    ...more,
  }
}

const target = (registry: string | undefined): LoadTarget => ({
  context: 'dev',
  params: registry === undefined ? {} : {registry},
})

type Handler = (request: IncomingMessage, response: ServerResponse) => void

/** A 404 as a registry gives it (distribution's header and JSON error body). */
const notFound: Handler = (_request, response) =>
  response
    .writeHead(404, {'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0'})
    .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')

/** A registry stand-in on 127.0.0.1 (answers a real registry cannot be made to give: 401, 500, another digest). */
class StandIn {
  requests: {url: string; accept: string | undefined; authorization: string | undefined}[] = []
  handler: Handler = notFound
  private server?: Server

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.requests.push({
        accept: request.headers.accept,
        authorization: request.headers.authorization,
        url: request.url ?? '',
      })
      this.handler(request, response)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }

  /** Serves `manifests` by path (`/v2/<repo>/manifests/<ref>`): JSON bodies with their media type; 404 otherwise. */
  serve(manifests: Record<string, object>): void {
    this.handler = (request, response) => {
      const body = manifests[request.url ?? '']
      if (body === undefined) notFound(request, response)
      else
        response
          .writeHead(200, {'content-type': String((body as {mediaType?: string}).mediaType ?? OCI_MANIFEST)})
          .end(JSON.stringify(body))
    }
  }

  status(code: number, body = ''): void {
    this.handler = (_request, response) => response.writeHead(code).end(body)
  }
}

const manifest = (config: string, mediaType = OCI_MANIFEST) => ({config: {digest: config}, mediaType, schemaVersion: 2})
const TAG_PATH = '/v2/kudev-test/app/manifests/kudev-1a2b3c4d'

interface DockerAnswers {
  /** `docker manifest inspect …` (the registry wanted credentials). */
  inspect?: (command: string[]) => Answer
  /** `docker info --format '{{json .RegistryConfig}}'`. */
  registryConfig?: object
}

/** docker as the loader runs it: tag, push (answered by `push`), image rm, info (an amd64 engine), manifest inspect. */
function docker(
  push: (options: {signal?: AbortSignal}) => Answer | Promise<Answer> = () => ({}),
  answers: DockerAnswers = {},
): FakeToolkit {
  return fakeToolkit((command, options) => {
    const [program, verb] = command
    if (program !== 'docker') return undefined
    if (verb === 'info' && command.at(-1) === '{{json .RegistryConfig}}')
      return {stdout: JSON.stringify(answers.registryConfig ?? {InsecureRegistryCIDRs: ['127.0.0.0/8']})}
    if (verb === 'info') return {stdout: 'linux\tx86_64\tnull'}
    if (verb === 'tag') return {}
    if (verb === 'push') return push(options)
    if (verb === 'image' && command[2] === 'rm') return {stdout: `Untagged: ${command[3]}`}
    if (verb === 'manifest' && answers.inspect) return answers.inspect(command)
    if (verb === 'image' && command[2] === 'inspect') return {stdout: 'linux/amd64\n'}
    return undefined
  })
}

describe('registry loader', () => {
  const standIn = new StandIn()
  let host: string
  beforeEach(async () => {
    standIn.requests = []
    standIn.handler = notFound
    host = await standIn.start()
  })
  afterEach(() => standIn.stop())

  describe('clusterRef', () => {
    const loader = new RegistryLoader(fakeToolkit())
    const table: [string, string, string][] = [
      ['kudev-test/app:kudev-1a2b3c4d', '127.0.0.1:5001', '127.0.0.1:5001/kudev-test/app:kudev-1a2b3c4d'],
      ['app:1', 'registry.example.com/team', 'registry.example.com/team/app:1'],
      ['app:1', 'registry.example.com/team/sub', 'registry.example.com/team/sub/app:1'],
      ['localhost:5000/app:1', '127.0.0.1:5001', '127.0.0.1:5001/app:1'],
      ['registry.example.com/team/app:kudev-1', 'localhost:5001', 'localhost:5001/team/app:kudev-1'],
      ['docker.io/library/app:1', 'localhost', 'localhost/library/app:1'],
      ['app', '[::1]:5000', '[::1]:5000/app:latest'],
      ['app:1@sha256:' + 'a'.repeat(64), 'r.example.com', 'r.example.com/app:1'],
    ]
    for (const [ref, registry, expected] of table) {
      it(`${ref} + ${registry} → ${expected}`, () => {
        expect(loader.clusterRef(image({ref}), target(registry))).to.equal(expected)
      })
    }
  })

  describe('a registry that is missing or malformed', () => {
    const bad: [string, RegExp][] = [
      ['http://127.0.0.1:5001', /without a scheme/],
      ['registry.example.com/Team', /not of that form/],
      ['registry.example.com/team/', /not of that form/],
      ['127.0.0.1:99999', /port 99999 is out of range/],
      ['myregistry/team', /Docker Hub account/],
      ['registry example.com', /not of that form/],
    ]
    for (const [value, reason] of bad) {
      it(`fails with a usage error naming "${value}" and the form expected`, async () => {
        const toolkit = docker()
        const loader = new RegistryLoader(toolkit)
        for (const attempt of [loader.has(image(), target(value)), loader.load(image(), target(value), signal)]) {
          const error = await rejection(attempt)
          expect(error.code).to.equal('usage')
          expect(error.message).to.include(`invalid registry "${value}"`).and.match(reason)
          expect(error.hint).to.include('HOST[:PORT][/PATH]')
        }

        expect(toolkit.commands).to.deep.equal([])
      })
    }

    it('without any, says the loader needs one and where to name it', async () => {
      const error = await rejection(new RegistryLoader(fakeToolkit()).has(image(), target(undefined)))
      expect(error.code).to.equal('usage')
      expect(error.message).to.equal('the registry loader needs a registry to push to')
      expect(error.hint).to.include('--registry').and.include('spec.registry')
    })
  })

  describe('has()', () => {
    it('asks GET /v2/<repo>/manifests/<tag> over plain HTTP for a loopback registry, accepting manifests and indexes', async () => {
      standIn.serve({[TAG_PATH]: manifest(ID)})
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(true)
      expect(standIn.requests.map((request) => request.url)).to.deep.equal([TAG_PATH])
      const accept = standIn.requests[0]!.accept!
      for (const type of [
        OCI_MANIFEST,
        DOCKER_MANIFEST,
        OCI_INDEX,
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ])
        expect(accept).to.include(type)
    })

    it('puts the registry path in front of the repository', async () => {
      standIn.serve({'/v2/team/kudev-test/app/manifests/kudev-1a2b3c4d': manifest(ID, DOCKER_MANIFEST)})
      expect(await new RegistryLoader(docker()).has(image(), target(`${host}/team`))).to.equal(true)
    })

    it('is false when the registry has no such tag (404)', async () => {
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(false)
    })

    it('is false when the tag names an image with another config digest', async () => {
      standIn.serve({[TAG_PATH]: manifest(OTHER)})
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(false)
    })

    it("is true when the manifest's own digest is the image ID (Docker's containerd image store)", async () => {
      standIn.handler = (_request, response) =>
        response
          .writeHead(200, {'content-type': OCI_INDEX, 'docker-content-digest': ID})
          .end(JSON.stringify({manifests: [], mediaType: OCI_INDEX, schemaVersion: 2}))
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(true)
    })

    it("reads an index's entry for the Docker engine's platform", async () => {
      const index = {
        manifests: [
          {digest: ARM64, mediaType: OCI_MANIFEST, platform: {architecture: 'arm64', os: 'linux'}},
          {digest: AMD64, mediaType: OCI_MANIFEST, platform: {architecture: 'amd64', os: 'linux'}},
        ],
        mediaType: OCI_INDEX,
        schemaVersion: 2,
      }
      standIn.serve({
        [TAG_PATH]: index,
        [`/v2/kudev-test/app/manifests/${AMD64}`]: manifest(ID),
        [`/v2/kudev-test/app/manifests/${ARM64}`]: manifest(OTHER),
      })
      const toolkit = docker()
      expect(await new RegistryLoader(toolkit).has(image(), target(host))).to.equal(true)
      expect(standIn.requests.map((request) => request.url)).to.deep.equal([
        TAG_PATH,
        `/v2/kudev-test/app/manifests/${AMD64}`,
      ])
      expect(toolkit.commands.map((command) => command.slice(0, 2))).to.deep.equal([['docker', 'info']])

      standIn.serve({[TAG_PATH]: {...index, manifests: index.manifests.slice(0, 1)}})
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(false)
    })

    const failures: [number, RegExp, (host: string) => string][] = [
      [500, /failed .*500/, () => "the registry's own log"],
      [503, /failed .*503/, () => "the registry's own log"],
      [400, /refused plain HTTP .*400/, () => 'serves HTTPS'],
      [418, /answered GET .* with 418/, (host) => `curl http://${host}/v2/`],
    ]
    for (const [status, message, hint] of failures) {
      it(`fails clearly on ${status}, naming the registry and the next step`, async () => {
        standIn.status(status)
        const error = await rejection(new RegistryLoader(docker()).has(image(), target(host)))
        expect(error.code).to.equal('load')
        expect(error.message).to.include(`registry ${host} `).and.match(message)
        expect(error.hint).to.include(hint(host))
      })
    }

    it('fails clearly when the answer is not a manifest', async () => {
      standIn.status(200, '<html>hello</html>')
      const error = await rejection(new RegistryLoader(docker()).has(image(), target(host)))
      expect(error.code).to.equal('load')
      expect(error.message).to.include('not a manifest (not JSON)')
    })

    it('refuses an answer over 4 MiB as not a manifest', async () => {
      standIn.handler = (_request, response) => {
        response.writeHead(200, {'content-type': OCI_MANIFEST})
        response.end(Buffer.alloc(4 * 1024 * 1024 + 1, 32))
      }
      const error = await rejection(new RegistryLoader(docker()).has(image(), target(host)))
      expect(error.code).to.equal('load')
      expect(error.message).to.include('not a manifest (more than 4194304 bytes)')
    })

    it('stops a request on Ctrl-C with an interrupted error', async () => {
      standIn.handler = () => undefined
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 50)
      const answer = get({base: `http://${host}`, verify: false}, '/v2/', {
        headers: {},
        maxBytes: 10,
        signal: controller.signal,
        timeoutMs: 5000,
      })
      const failure = (await answer.catch((error: unknown) => error)) as RequestFailure
      expect(failure).to.be.instanceOf(RequestFailure)
      expect(failure.kind).to.equal('aborted')
      expect(failure.message).to.equal(`interrupted: GET http://${host}/v2/`)
    })

    it('fails clearly when nothing listens: is the registry running?', async () => {
      await standIn.stop()
      const error = await rejection(new RegistryLoader(docker()).has(image(), target(host)))
      expect(error.code).to.equal('load')
      // HTTPS first, as Docker does for a loopback registry; plain HTTP cannot do better on a port where nothing listens.
      expect(error.message).to.equal(`cannot reach registry ${host}: ECONNREFUSED (GET https://${host}${TAG_PATH})`)
      expect(error.hint).to.equal(
        `is the registry running? curl -k https://${host}/v2/ (or curl http://${host}/v2/) should answer`,
      )
    })

    it('gives up after its time-out when the registry does not answer', async () => {
      standIn.handler = () => undefined
      const started = Date.now()
      const error = await rejection(new RegistryLoader(docker(), {timeoutMs: 200}).has(image(), target(host)))
      expect(Date.now() - started).to.be.lessThan(2000)
      expect(error.code).to.equal('load')
      expect(error.message).to.include(`registry ${host} did not answer within 0.2 s`)
      expect(error.hint).to.include('is the registry running?')
    })

    it('talks HTTPS to a registry that is not on loopback', async () => {
      const error = await rejection(
        new RegistryLoader(docker(), {timeoutMs: 2000}).has(image(), target('registry.invalid')),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal('cannot reach registry registry.invalid: no host named registry.invalid')
      expect(error.data?.url).to.equal(`https://registry.invalid${TAG_PATH}`)
    })
  })

  describe('a registry that is not one', () => {
    it('fails clearly when a plain web server answers 404 everywhere, /v2/ included', async () => {
      standIn.status(404, 'Not Found')
      const error = await rejection(new RegistryLoader(docker()).has(image(), target(host)))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `${host} does not answer as a registry: GET http://${host}${TAG_PATH} answered 404 Not Found, and GET http://${host}/v2/ 404 Not Found`,
      )
      expect(error.hint).to.include('check the host and port in --registry')
      expect(standIn.requests.map((request) => request.url)).to.deep.equal([TAG_PATH, '/v2/'])
    })

    it("takes a 404 without a registry's marks as missing when /v2/ answers as a registry", async () => {
      standIn.handler = (request, response) =>
        request.url === '/v2/' ? response.writeHead(200).end('{}') : response.writeHead(404).end()
      expect(await new RegistryLoader(docker()).has(image(), target(host))).to.equal(false)
    })
  })

  describe('a registry that wants credentials', () => {
    const SECRET = 'hunter2-not-logged'
    const basic: Handler = (_request, response) =>
      response
        .writeHead(401, {'content-type': 'application/json', 'www-authenticate': 'Basic realm="kudev-test"'})
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}')
    const inspected = (config: string, digest = AMD64) => ({
      stdout: JSON.stringify({
        Descriptor: {digest, mediaType: DOCKER_MANIFEST, platform: {architecture: 'amd64', os: 'linux'}, size: 524},
        Ref: `${host}/kudev-test/app:kudev-1a2b3c4d`,
        SchemaV2Manifest: {config: {digest: config}, mediaType: DOCKER_MANIFEST, schemaVersion: 2},
      }),
    })

    it("asks docker manifest inspect (--insecure for a loopback registry), which has docker login's credentials", async () => {
      standIn.handler = basic
      const toolkit = docker(undefined, {inspect: () => inspected(ID)})
      expect(await new RegistryLoader(toolkit).has(image(), target(host))).to.equal(true)
      const inspect = toolkit.calls.find((call) => call.args[0] === 'manifest')!
      expect(inspect.args).to.deep.equal([
        'manifest',
        'inspect',
        '--insecure',
        '--verbose',
        `${host}/kudev-test/app:kudev-1a2b3c4d`,
      ])
      expect(inspect.options.env).to.deep.equal({DOCKER_CLI_EXPERIMENTAL: 'enabled'})
    })

    it("reads the entry for the engine's platform when docker prints an index (an array)", async () => {
      standIn.handler = basic
      const entry = (architecture: string, config: string, digest: string) => ({
        Descriptor: {digest, mediaType: OCI_MANIFEST, platform: {architecture, os: 'linux'}},
        OCIManifest: {config: {digest: config}, mediaType: OCI_MANIFEST, schemaVersion: 2},
        Ref: `${host}/kudev-test/app:kudev-1a2b3c4d@${digest}`,
      })
      const toolkit = docker(undefined, {
        inspect: () => ({stdout: JSON.stringify([entry('arm64', OTHER, ARM64), entry('amd64', ID, AMD64)])}),
      })
      expect(await new RegistryLoader(toolkit).has(image(), target(host))).to.equal(true)
    })

    it('is false when docker says "no such manifest"', async () => {
      standIn.handler = basic
      const toolkit = docker(undefined, {
        inspect: () => ({exitCode: 1, stderr: `no such manifest: ${host}/kudev-test/app:kudev-1a2b3c4d`}),
      })
      expect(await new RegistryLoader(toolkit).has(image(), target(host))).to.equal(false)
    })

    it('without docker login, fails with "wants credentials" and the docker login to run', async () => {
      standIn.handler = basic
      const toolkit = docker(undefined, {
        inspect: () => ({
          exitCode: 1,
          stderr: `Get "https://${host}/v2/kudev-test/app/manifests/kudev-1a2b3c4d": no basic auth credentials`,
        }),
      })
      const error = await rejection(new RegistryLoader(toolkit).has(image(), target(host)))
      expect(error.code).to.equal('load')
      expect(error.message).to.match(
        new RegExp(`^registry ${host} wants credentials \\(GET https?://${host}${TAG_PATH}: 401 Unauthorized\\)`),
      )
      expect(error.message).to.include('no basic auth credentials')
      expect(error.hint).to.equal(
        `log in once: docker login ${host} (kudev asks docker; it never reads credentials itself)`,
      )
    })

    it('gets an anonymous token for a Bearer challenge and reads with it, without docker', async () => {
      let tokenRequest = ''
      standIn.handler = (request, response) => {
        if (request.url?.startsWith('/token?')) {
          tokenRequest = request.url
          response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token: SECRET}))
        } else if (request.headers.authorization === `Bearer ${SECRET}`)
          response.writeHead(200, {'content-type': OCI_MANIFEST}).end(JSON.stringify(manifest(ID)))
        else
          response
            .writeHead(401, {
              'www-authenticate': `Bearer realm="http://${host}/token",service="kudev-test",scope="repository:kudev-test/app:pull"`,
            })
            .end()
      }

      const toolkit = docker()
      const loader = new RegistryLoader(toolkit)
      expect(await loader.has(image(), target(host))).to.equal(true)
      expect(new URLSearchParams(tokenRequest.slice('/token?'.length)).get('scope')).to.equal(
        'repository:kudev-test/app:pull',
      )
      expect(toolkit.commands).to.deep.equal([])
      expect(await loader.has(image(), target(host))).to.equal(true)
      expect(standIn.requests.filter((request) => request.url.startsWith('/token'))).to.have.length(1)
      expect(JSON.stringify(toolkit.logs)).to.not.include(SECRET)
    })

    it('falls back to docker when the anonymous token is refused (401, then 403 with the token)', async () => {
      standIn.handler = (request, response) => {
        if (request.url?.startsWith('/token?'))
          response.writeHead(200, {'content-type': 'application/json'}).end('{"access_token":"anonymous"}')
        else if (request.headers.authorization === 'Bearer anonymous') response.writeHead(403).end()
        else response.writeHead(401, {'www-authenticate': `Bearer realm="http://${host}/token",service="x"`}).end()
      }

      const toolkit = docker(undefined, {
        inspect: () => ({exitCode: 1, stderr: 'denied: requested access to the resource is denied'}),
      })
      const error = await rejection(new RegistryLoader(toolkit).has(image(), target(host)))
      expect(error.message).to.match(new RegExp(`^registry ${host} denied access \\(GET .*: 403 Forbidden; docker`))
      expect(error.hint).to.equal(`log in with an account allowed to read it: docker login ${host}`)
      expect(toolkit.commands.filter((command) => command[1] === 'manifest')).to.have.length(1)
    })

    it('diagnose() reports a registry that wants credentials as answering, with how kudev reads it', async () => {
      standIn.handler = basic
      const [row] = await new RegistryLoader(docker()).diagnose(target(host))
      expect(row).to.deep.equal({
        hint: `kudev reads it through docker manifest inspect, with the credentials of docker login ${host}`,
        name: 'registry',
        ok: true,
        summary: `${host} answers (registry API v2) and wants credentials`,
      })
    })
  })

  describe('load()', () => {
    const CLUSTER_REF = () => `${host}/kudev-test/app:kudev-1a2b3c4d`

    it('tags, pushes, verifies and reports the ref pods must use', async () => {
      const toolkit = docker(() => {
        standIn.serve({[TAG_PATH]: manifest(ID)})
        return {stdout: 'abc: Pushed\nkudev-1a2b3c4d: digest: sha256:… size: 528'}
      })
      const report = await new RegistryLoader(toolkit).load(image(), target(host), signal)
      expect(report).to.deep.equal({method: `docker push ${CLUSTER_REF()}`, nodes: []})
      expect(toolkit.commands).to.deep.equal([
        ['docker', 'tag', 'kudev-test/app:kudev-1a2b3c4d', CLUSTER_REF()],
        ['docker', 'push', CLUSTER_REF()],
      ])
      expect(toolkit.calls[1]!.options.signal).to.equal(signal)
      expect(toolkit.logs.debug).to.include('docker push: abc: Pushed')
    })

    it('fails before pushing when no node of the cluster runs the image’s platform, naming --platform', async () => {
      const toolkit = docker()
      toolkit.nodePlatforms = async () => ['linux/arm64']
      const error = await rejection(new RegistryLoader(toolkit).load(image(), target(host), signal))
      expect(error.message).to.equal(
        'kudev-test/app:kudev-1a2b3c4d is built for linux/amd64, and no node of dev runs linux/amd64 (the nodes run linux/arm64)',
      )
      expect(error)
        .to.have.property('hint')
        .that.match(/^build for the cluster: --platform linux\/arm64, or spec.platform: linux\/arm64/)
      expect(toolkit.commands.some(([, verb]) => verb === 'push' || verb === 'tag')).to.equal(false)
    })

    it('pushes when one of the nodes runs the image’s platform (a mixed cluster)', async () => {
      const toolkit = docker(() => {
        standIn.serve({[TAG_PATH]: manifest(ID)})
        return {}
      })
      toolkit.nodePlatforms = async () => ['linux/amd64', 'linux/arm64']
      await new RegistryLoader(toolkit).load(image(), target(host), signal)
      expect(toolkit.commands).to.deep.include([
        'docker',
        'image',
        'inspect',
        '--format',
        '{{.Os}}/{{.Architecture}}',
        ID,
      ])
      expect(toolkit.commands.at(-1)).to.deep.equal(['docker', 'push', CLUSTER_REF()])
    })

    it("refuses an image that is neither in the Docker daemon nor in podman's store, saying why", async () => {
      const toolkit = fakeToolkit((command) => (command[0] === 'podman' ? {exitCode: 1, stderr: ''} : undefined))
      const error = await rejection(
        new RegistryLoader(toolkit).load(image({inDockerDaemon: false}), target(host), signal),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `the registry loader pushes with docker or podman, and kudev-test/app:kudev-1a2b3c4d (${ID}) is neither in the Docker daemon nor in podman's image store`,
      )
      expect(error.hint).to.include('--builder docker or --builder podman')
      expect(toolkit.commands).to.deep.equal([['podman', 'image', 'exists', ID.slice(7)]])
    })

    it("pushes an image in podman's store with podman: tag by ID, --tls-verify=false for a loopback registry", async () => {
      const toolkit = fakeToolkit((command) => {
        if (command[0] !== 'podman') return undefined
        if (command[1] === 'push') standIn.serve({[TAG_PATH]: manifest(ID)})
        return {stderr: command[1] === 'push' ? 'Copying config sha256:cc\nWriting manifest to image destination' : ''}
      })
      const report = await new RegistryLoader(toolkit).load(image({inDockerDaemon: false}), target(host), signal)
      expect(report).to.deep.equal({method: `podman push ${CLUSTER_REF()}`, nodes: []})
      expect(toolkit.commands).to.deep.equal([
        ['podman', 'image', 'exists', ID.slice(7)],
        ['podman', 'tag', ID.slice(7), CLUSTER_REF()],
        ['podman', 'push', '--tls-verify=false', CLUSTER_REF()],
      ])
      expect(toolkit.logs.debug).to.include('podman push: Writing manifest to image destination')
    })

    it('pushes with podman without --tls-verify=false to a registry Docker treats as secure, and untags after a failure', async () => {
      const toolkit = fakeToolkit((command) => {
        if (command[0] !== 'podman') return undefined
        if (command[1] === 'push')
          return {exitCode: 125, stderr: 'Error: writing blob: unauthorized: authentication required'}
        return {}
      })
      const loader = new RegistryLoader(toolkit, {security: 'secure'})
      const error = await rejection(loader.load(image({inDockerDaemon: false}), target(host), signal))
      expect(error.message).to.equal(
        `podman push ${CLUSTER_REF()} failed: writing blob: unauthorized: authentication required`,
      )
      expect(error.hint).to.equal(
        `log in to the registry: podman login ${host} (podman also reads docker login's credentials)`,
      )
      expect(toolkit.commands.slice(2)).to.deep.equal([
        ['podman', 'push', CLUSTER_REF()],
        ['podman', 'untag', ID.slice(7), CLUSTER_REF()],
      ])
    })

    const pushFailures: [string, string, (host: string) => string][] = [
      [
        'plain HTTP to an HTTPS client',
        `Get "https://${'HOST'}/v2/": http: server gave HTTP response to HTTPS client`,
        (host) => `add "${host}" to "insecure-registries"`,
      ],
      ['unauthorized', 'unauthorized: authentication required', (host) => `docker login ${host}`],
      ['denied', 'denied: requested access to the resource is denied', (host) => `docker login ${host}`],
      [
        'connection refused',
        `Get "http://HOST/v2/": dial tcp HOST: connect: connection refused`,
        (host) => `is the registry running? curl -k https://${host}/v2/ (or curl http://${host}/v2/)`,
      ],
      ['certificate', 'x509: certificate signed by unknown authority', (host) => `certs.d/${host}/ca.crt`],
    ]
    for (const [what, stderr, hint] of pushFailures) {
      it(`maps a failed push (${what}) to a clear error and removes the tag it made`, async () => {
        const toolkit = docker(() => ({exitCode: 1, stderr: stderr.replaceAll('HOST', host)}))
        const error = await rejection(new RegistryLoader(toolkit).load(image(), target(host), signal))
        expect(error.code).to.equal('load')
        expect(error.message).to.equal(`docker push ${CLUSTER_REF()} failed: ${stderr.replaceAll('HOST', host)}`)
        expect(error.hint).to.include(hint(host))
        expect(toolkit.commands.at(-1)).to.deep.equal(['docker', 'image', 'rm', CLUSTER_REF()])
      })
    }

    it('fails when the registry accepted the push but serves another image, and removes the tag', async () => {
      const toolkit = docker(() => {
        standIn.serve({[TAG_PATH]: manifest(OTHER)})
        return {}
      })
      const error = await rejection(new RegistryLoader(toolkit).load(image(), target(host), signal))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `the registry ${host} accepted the push of ${CLUSTER_REF()} but serves ${OTHER}, not ${ID}`,
      )
      expect(toolkit.commands.at(-1)).to.deep.equal(['docker', 'image', 'rm', CLUSTER_REF()])
    })

    it('stops on Ctrl-C during the push and leaves no tag behind', async () => {
      const controller = new AbortController()
      const toolkit: FakeToolkit = docker(
        (options) =>
          new Promise((_resolve, reject) => {
            options.signal?.addEventListener('abort', () =>
              reject(toolkit.error('interrupted', `interrupted: docker push ${CLUSTER_REF()}`)),
            )
            setTimeout(() => controller.abort(), 10)
          }),
      )
      const error = await rejection(new RegistryLoader(toolkit).load(image(), target(host), controller.signal))
      expect(error.code).to.equal('interrupted')
      expect(toolkit.commands.at(-1)).to.deep.equal(['docker', 'image', 'rm', CLUSTER_REF()])
      expect(standIn.requests).to.deep.equal([])
    })

    it('neither tags nor untags an image already named in the registry', async () => {
      const ref = `${host}/kudev-test/app:kudev-1a2b3c4d`
      const toolkit = docker(() => ({exitCode: 1, stderr: 'unauthorized: authentication required'}))
      await rejection(new RegistryLoader(toolkit).load(image({ref}), target(host), signal))
      expect(toolkit.commands).to.deep.equal([['docker', 'push', ref]])
    })
  })

  describe('diagnose()', () => {
    it('reports that the registry answers GET /v2/', async () => {
      standIn.status(200, '{}')
      const rows = await new RegistryLoader(docker()).diagnose(target(host))
      expect(rows).to.deep.equal([{name: 'registry', ok: true, summary: `${host} answers (registry API v2)`}])
      expect(standIn.requests.map((request) => request.url)).to.deep.equal(['/v2/'])
    })

    it('reports a registry that does not answer, with the hint', async () => {
      await standIn.stop()
      const [row] = await new RegistryLoader(docker()).diagnose(target(host))
      expect(row).to.include({name: 'registry', ok: false})
      expect(row!.summary).to.include(`cannot reach registry ${host}`)
      expect(row!.hint).to.include('is the registry running?')
    })

    it('reports a malformed registry', async () => {
      const [row] = await new RegistryLoader(docker()).diagnose(target('http://x'))
      expect(row).to.include({name: 'registry', ok: false})
      expect(row!.hint).to.include('HOST[:PORT][/PATH]')
    })
  })
})
