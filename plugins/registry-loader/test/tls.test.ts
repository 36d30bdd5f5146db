/**
 * The registry loader's TLS as Docker does it (trust.ts, transport.ts), against HTTPS stand-ins on
 * loopback with certificates openssl makes: a private CA trusted through a certs.d folder, certificate
 * verification on ("secure" forced for a loopback host), a client certificate, a name the certificate
 * does not cover, and Docker's insecure-registry list from `docker info`.
 */
import {expect} from 'chai'
import type {ImageRef, LoadTarget} from 'kudev'
import {type Answer, type FakeToolkit, fakeToolkit, rejection} from 'kudev/testing'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer as createHttpServer, type RequestListener, type Server} from 'node:http'
import {createServer as createHttpsServer, type ServerOptions} from 'node:https'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {suiteCleanup} from '../../../test/support/docker.js'
import {makeCertificates, requireTlsTools, type TestCertificates} from '../../../test/support/tls.js'
import {RegistryLoader} from '../src/loader.js'
import {defaultCertsDir, dockerSecurity, readCertsDir} from '../src/trust.js'

const ID = `sha256:${'c'.repeat(64)}`
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const TAG_PATH = '/v2/kudev-test/app/manifests/kudev-1a2b3c4d'
const image: ImageRef = {id: ID, ref: 'kudev-test/app:kudev-1a2b3c4d'}
const target = (registry: string): LoadTarget => ({context: 'dev', params: {registry}})

/** Serves the image's manifest under its tag, 404 elsewhere, as a registry would. */
const registryHandler: RequestListener = (request, response) => {
  if (request.url === TAG_PATH)
    response
      .writeHead(200, {'content-type': OCI_MANIFEST})
      .end(JSON.stringify({config: {digest: ID}, mediaType: OCI_MANIFEST, schemaVersion: 2}))
  else
    response
      .writeHead(404, {'docker-distribution-api-version': 'registry/2.0'})
      .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
}

/** docker for the loader: `info` (amd64, and the RegistryConfig given), `manifest inspect` when answered. */
function docker(registryConfig: object = {}, inspect?: (command: string[]) => Answer): FakeToolkit {
  return fakeToolkit((command) => {
    if (command[0] !== 'docker') return undefined
    if (command[1] === 'info' && command.at(-1) === '{{json .RegistryConfig}}')
      return {stdout: JSON.stringify(registryConfig)}
    if (command[1] === 'info') return {stdout: 'linux\tx86_64\tnull'}
    if (command[1] === 'manifest' && inspect) return inspect(command)
    return undefined
  })
}

describe('registry loader TLS (openssl certificates, HTTPS stand-ins on loopback)', function () {
  this.timeout(60_000)
  const cleanup = suiteCleanup()
  let certs: TestCertificates
  let dir: string
  const servers: Server[] = []

  async function listen(server: Server, address = '127.0.0.1'): Promise<string> {
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, address, resolve))
    const {port} = server.address() as AddressInfo
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
  }

  async function https(options: ServerOptions = {}, handler = registryHandler, address?: string): Promise<string> {
    const server = createHttpsServer(
      {cert: await readFile(certs.serverCert), key: await readFile(certs.serverKey), ...options},
      handler,
    )
    return listen(server, address)
  }

  /** A certs.d folder holding `files` (name → source file) for `host`. */
  async function certsDir(host: string, files: Record<string, string>): Promise<string> {
    const root = path.join(dir, `certs.d-${Object.keys(files).join('-') || 'empty'}-${servers.length}`)
    await mkdir(path.join(root, host), {recursive: true})
    for (const [name, source] of Object.entries(files)) await copyFile(source, path.join(root, host, name))
    return root
  }

  before(async function () {
    await requireTlsTools(this)
    dir = await cleanup.tempDir('kudev-registry-tls-')
    certs = await makeCertificates(dir)
  })

  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  describe('a loopback registry (insecure to Docker)', () => {
    it('is read over HTTPS without verifying its certificate, as Docker does', async () => {
      const host = await https()
      const toolkit = docker()
      expect(await new RegistryLoader(toolkit, {certsDir: path.join(dir, 'none')}).has(image, target(host))).to.equal(
        true,
      )
      expect(toolkit.logs.debug).to.include(`GET https://${host}${TAG_PATH}`)
      expect(toolkit.logs.debug.filter((line) => line.startsWith('GET http://'))).to.deep.equal([])
      // Loopback is insecure whatever the daemon says: docker info is not even asked.
      expect(toolkit.commands).to.deep.equal([])
    })
  })

  describe('a secure registry (verification on)', () => {
    it("trusts a private CA from <certs.d>/<host:port>/ca.crt, on top of the system's", async () => {
      const host = await https()
      const loader = new RegistryLoader(docker(), {
        certsDir: await certsDir(host, {'ca.crt': certs.caCert}),
        security: 'secure',
      })
      expect(await loader.has(image, target(host))).to.equal(true)
    })

    it('refuses a certificate from a CA it was not given, saying where the CA goes', async () => {
      const host = await https()
      const choices: Record<string, string>[] = [{}, {'ca.crt': certs.otherCaCert}]
      for (const files of choices) {
        const folder = await certsDir(host, files)
        const error = await rejection(
          new RegistryLoader(docker(), {certsDir: folder, security: 'secure'}).has(image, target(host)),
        )
        expect(error.code).to.equal('load')
        expect(error.message).to.match(
          new RegExp(`^cannot trust registry ${host}: .* \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE, GET https://${host}/`),
        )
        expect(error.hint).to.equal(
          `if the registry's certificate comes from a private CA, put that CA in ${folder}/${host}/ca.crt (Docker reads it there too)`,
        )
      }
    })

    it('refuses a certificate that does not name the host it was reached by', async () => {
      // Issued for 127.0.0.1 and localhost; 127.0.0.2 is loopback too, and not in it.
      const host = await https({}, registryHandler, '127.0.0.2')
      const error = await rejection(
        new RegistryLoader(docker(), {
          certsDir: await certsDir(host, {'ca.crt': certs.caCert}),
          security: 'secure',
        }).has(image, target(host)),
      )
      expect(error.message).to.include('ERR_TLS_CERT_ALTNAME_INVALID')
      expect(error.hint).to.equal(
        'the certificate does not name 127.0.0.2: name the registry as its certificate does, or have one issued for 127.0.0.2',
      )
    })

    it('shows the client certificate of <certs.d>/<host>/NAME.cert + NAME.key to a registry that asks for one', async () => {
      const host = await https({ca: await readFile(certs.caCert), rejectUnauthorized: true, requestCert: true})
      const withClient = await certsDir(host, {
        'ca.crt': certs.caCert,
        'client.cert': certs.clientCert,
        'client.key': certs.clientKey,
      })
      const toolkit = docker()
      expect(
        await new RegistryLoader(toolkit, {certsDir: withClient, security: 'secure'}).has(image, target(host)),
      ).to.equal(true)
      expect(toolkit.logs.debug.join('\n')).to.include(path.join(withClient, host, 'client.cert'))

      const without = await certsDir(host, {'ca.crt': certs.caCert})
      const error = await rejection(
        new RegistryLoader(docker(), {certsDir: without, security: 'secure'}).has(image, target(host)),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `registry ${host} wants a client certificate it accepts (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, GET https://${host}${TAG_PATH})`,
      )
      expect(error.hint).to.equal(
        `put the client certificate and its key in ${without}/${host}/ as NAME.cert and NAME.key, as Docker reads them`,
      )
    })

    it('fails clearly on a key without its certificate in certs.d, as Docker does', async () => {
      const host = await https()
      const folder = await certsDir(host, {'ca.crt': certs.caCert, 'client.key': certs.clientKey})
      const error = await rejection(
        new RegistryLoader(docker(), {certsDir: folder, security: 'secure'}).has(image, target(host)),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `cannot use the certificates for registry ${host}: missing client certificate client.cert for key ${path.join(folder, host, 'client.key')}`,
      )
      expect(error.hint).to.include('*.crt')
    })

    it("says a registry serving plain HTTP needs HTTPS or Docker's insecure-registries", async () => {
      const host = await listen(createHttpServer(registryHandler))
      const error = await rejection(new RegistryLoader(docker(), {security: 'secure'}).has(image, target(host)))
      expect(error.code).to.equal('load')
      expect(error.message).to.match(new RegExp(`^cannot reach registry ${host} over HTTPS: .*wrong version number`))
      expect(error.hint).to.include(`add "${host}" to "insecure-registries" in Docker's daemon.json`)
    })

    it('asks docker manifest inspect without --insecure when the registry wants credentials', async () => {
      const host = await https({}, (_request, response) =>
        response.writeHead(401, {'www-authenticate': 'Basic realm="x"'}).end(),
      )
      const toolkit = docker({}, () => ({
        stdout: JSON.stringify({
          Descriptor: {digest: `sha256:${'2'.repeat(64)}`},
          SchemaV2Manifest: {config: {digest: ID}},
        }),
      }))
      const loader = new RegistryLoader(toolkit, {
        certsDir: await certsDir(host, {'ca.crt': certs.caCert}),
        security: 'secure',
      })
      expect(await loader.has(image, target(host))).to.equal(true)
      expect(toolkit.commands.find((command) => command[1] === 'manifest')).to.deep.equal([
        'docker',
        'manifest',
        'inspect',
        '--verbose',
        `${host}/kudev-test/app:kudev-1a2b3c4d`,
      ])
    })
  })

  describe("Docker's insecure registries (docker info)", () => {
    it('treats [::1] as secure by default and as insecure when Docker lists it (HTTPS unverified, then plain HTTP)', async () => {
      const host = await listen(createHttpServer(registryHandler), '::1')
      const secure = await rejection(new RegistryLoader(docker()).has(image, target(host)))
      expect(secure.message).to.include('over HTTPS')

      for (const registryConfig of [
        {InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128']},
        {IndexConfigs: {[host]: {Name: host, Secure: false}}},
      ]) {
        const toolkit = docker(registryConfig)
        expect(await new RegistryLoader(toolkit).has(image, target(host))).to.equal(true)
        expect(toolkit.logs.debug).to.include(`GET http://${host}${TAG_PATH}`)
      }
    })

    it('follows moby: the per-registry setting first, then the CIDRs the name resolves into', async () => {
      const resolve = (addresses: string[]) => () => Promise.resolve(addresses)
      const config = {
        IndexConfigs: {'docs.example:5000': {Secure: true}, 'reg.example:5000': {Secure: false}},
        InsecureRegistryCIDRs: ['127.0.0.0/8', '192.0.2.0/24'],
      }
      expect(await dockerSecurity('reg.example:5000', config, resolve(['198.51.100.1']))).to.equal('insecure')
      expect(await dockerSecurity('docs.example:5000', config, resolve(['192.0.2.9']))).to.equal('secure')
      expect(await dockerSecurity('other.example', config, resolve(['192.0.2.9']))).to.equal('insecure')
      expect(await dockerSecurity('other.example', config, resolve(['198.51.100.1']))).to.equal('secure')
      expect(await dockerSecurity('192.0.2.7:443', config, resolve([]))).to.equal('insecure')
      expect(await dockerSecurity('loop.example', {}, resolve(['127.0.0.53']))).to.equal('insecure')
      expect(await dockerSecurity('gone.example', config, () => Promise.reject(new Error('ENOTFOUND')))).to.equal(
        'secure',
      )
    })
  })

  describe('certs.d', () => {
    it('is /etc/docker/certs.d on Linux, ~/.docker/certs.d elsewhere, and KUDEV_DOCKER_CERTS_D when set', () => {
      expect(defaultCertsDir({}, 'linux')).to.equal('/etc/docker/certs.d')
      expect(defaultCertsDir({}, 'darwin')).to.match(/\/\.docker\/certs\.d$/)
      expect(defaultCertsDir({KUDEV_DOCKER_CERTS_D: '/tmp/x'}, 'linux')).to.equal('/tmp/x')
    })

    it('reads every *.crt as a CA and refuses a client certificate without its key', async () => {
      const root = path.join(dir, 'read')
      await mkdir(path.join(root, 'r.example'), {recursive: true})
      await copyFile(certs.caCert, path.join(root, 'r.example', 'a.crt'))
      await copyFile(certs.otherCaCert, path.join(root, 'r.example', 'b.crt'))
      const content = await readCertsDir(root, 'r.example')
      expect(content.caFiles.map((file) => path.basename(file))).to.deep.equal(['a.crt', 'b.crt'])
      expect(content.client).to.equal(undefined)
      expect(await readCertsDir(root, 'missing.example')).to.deep.equal({ca: [], caFiles: []})
      await writeFile(path.join(root, 'r.example', 'me.cert'), await readFile(certs.clientCert))
      const error = await readCertsDir(root, 'r.example').catch((caught: Error) => caught)
      expect((error as Error).message).to.equal(
        `missing key me.key for client certificate ${path.join(root, 'r.example', 'me.cert')} (CA certificates must end in .crt)`,
      )
    })
  })
})
