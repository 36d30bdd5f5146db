/**
 * A stand-in Kubernetes API server (no real one can be installed here): HTTPS with a CA of its own,
 * authenticating client certificates and bearer tokens, serving the two reads kudev makes. It answers as
 * kube-apiserver does (k8s.io/apiserver: pkg/endpoints/handlers/responsewriters/status.go writes errors as
 * a v1 Status; pkg/registry/generic/registry/store.go's NotFound and the RBAC authorizer's Forbidden
 * messages are copied in shape):
 *   GET /api/v1/namespaces/kube-public/configmaps/local-registry-hosting  → ConfigMap, or 404 NotFound
 *   GET /api/v1/nodes                                                    → NodeList
 * anything else → 404; no or wrong credentials → 401 Unauthorized; a path in `forbidden` → 403.
 */
import {execFile} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {createServer} from 'node:https'
import type {TLSSocket} from 'node:tls'
import path from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)

export const HOSTING_PATH = '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting'
export const NODES_PATH = '/api/v1/nodes'

export interface StandInNode {
  name: string
  /** `linux/amd64` */
  platform: string
}

export interface StandInApiServer {
  /** `https://127.0.0.1:PORT` */
  url: string
  /** The PEM of its CA (certificate-authority-data is its base64). */
  caPem: string
  /** A valid bearer token. */
  token: string
  /** Client certificate and key (PEM) its CA signed, as kind's kubeconfig carries for kubernetes-admin. */
  client: {cert: string; key: string}
  /** The ConfigMap's data; undefined: no ConfigMap (404). */
  hosting: Record<string, string> | undefined
  nodes: StandInNode[]
  /** Paths answered 403 (RBAC). */
  forbidden: Set<string>
  /** Milliseconds to wait before answering (an overloaded or half-dead server). */
  delayMs: number
  /** Every request's path, in order, with how it authenticated. */
  requests: {path: string; auth: 'certificate' | 'token' | 'none'}[]
  close(): Promise<void>
}

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate with openssl, in `dir`. */
export async function makeCertificates(
  dir: string,
): Promise<{ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string}> {
  const file = (name: string) => path.join(dir, name)
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', [
    'req',
    '-x509',
    ...key,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=kudev-test-ca',
  ])
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n')
  for (const [name, subject] of [
    ['server', '/CN=127.0.0.1'],
    ['client', '/O=system:masters/CN=kubernetes-admin'],
  ] as const) {
    await run('openssl', ['req', ...key, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject])
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
    ])
  }

  const read = (name: string) => readFile(file(name), 'utf8')
  return {
    ca: await read('ca.crt'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    serverCert: await read('server.crt'),
    serverKey: await read('server.key'),
  }
}

export async function startApiServer(dir: string): Promise<StandInApiServer> {
  const pems = await makeCertificates(dir)
  const token = 'kudev-test-token-' + Math.random().toString(16).slice(2)
  const server = createServer({
    ca: pems.ca,
    cert: pems.serverCert,
    key: pems.serverKey,
    rejectUnauthorized: false,
    requestCert: true,
  })
  const state: StandInApiServer = {
    caPem: pems.ca,
    client: {cert: pems.clientCert, key: pems.clientKey},
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
    delayMs: 0,
    forbidden: new Set(),
    hosting: undefined,
    nodes: [{name: 'dev-control-plane', platform: 'linux/amd64'}],
    requests: [],
    token,
    url: '',
  }
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const auth = authentication(request, token)
    const url = (request.url ?? '/').split('?')[0]!
    state.requests.push({auth, path: url})
    setTimeout(() => answer(state, auth, url, response), state.delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  state.url = `https://127.0.0.1:${address.port}`
  return state
}

function authentication(request: IncomingMessage, token: string): 'certificate' | 'token' | 'none' {
  if ((request.socket as TLSSocket).authorized) return 'certificate'
  if (request.headers.authorization === `Bearer ${token}`) return 'token'
  return 'none'
}

function answer(state: StandInApiServer, auth: string, url: string, response: ServerResponse): void {
  if (auth === 'none') return status(response, 401, 'Unauthorized', 'Unauthorized')
  if (state.forbidden.has(url)) {
    const [resource, namespace] = url === NODES_PATH ? ['nodes', undefined] : ['configmaps', 'kube-public']
    const name = url === HOSTING_PATH ? ' "local-registry-hosting"' : ''
    const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope'
    return status(
      response,
      403,
      'Forbidden',
      `${resource}${name} is forbidden: User "kudev-test" cannot ${name ? 'get' : 'list'} resource "${resource}" in API group ""${where}`,
    )
  }

  if (url === HOSTING_PATH && state.hosting !== undefined) {
    return json(response, 200, {
      apiVersion: 'v1',
      data: state.hosting,
      kind: 'ConfigMap',
      metadata: {name: 'local-registry-hosting', namespace: 'kube-public'},
    })
  }

  if (url === NODES_PATH) {
    return json(response, 200, {
      apiVersion: 'v1',
      items: state.nodes.map(({name, platform}) => {
        const [os, architecture] = platform.split('/')
        return {
          metadata: {labels: {'kubernetes.io/arch': architecture, 'kubernetes.io/os': os}, name},
          status: {nodeInfo: {architecture, operatingSystem: os}},
        }
      }),
      kind: 'NodeList',
      metadata: {resourceVersion: '1'},
    })
  }

  if (url === HOSTING_PATH) return status(response, 404, 'NotFound', 'configmaps "local-registry-hosting" not found')
  return status(response, 404, 'NotFound', 'the server could not find the requested resource')
}

function status(response: ServerResponse, code: number, reason: string, message: string): void {
  json(response, code, {apiVersion: 'v1', code, kind: 'Status', message, metadata: {}, reason, status: 'Failure'})
}

function json(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, {'content-type': 'application/json'})
  response.end(JSON.stringify(body))
}

/** KEP-1755's v1 data, as kind's local-registry recipe writes it. */
export function hostingData(host: string, extra: Record<string, string> = {}): Record<string, string> {
  const fields = Object.entries({host, ...extra}).map(([key, value]) => `${key}: "${value}"`)
  return {'localRegistryHosting.v1': `${fields.join('\n')}\n`}
}

export interface KubeconfigOptions {
  context: string
  /** How the user authenticates: kind's client certificate, a bearer token, or an exec credential plugin printing the token. */
  auth: 'certificate' | 'token' | 'exec' | 'none'
  /** Leave the CA out and set insecure-skip-tls-verify instead. */
  skipTlsVerify?: boolean
  /** Another server URL (an unreachable one). */
  server?: string
}

/** Writes a kubeconfig with one context for the stand-in server, and returns its path. */
export async function writeKubeconfig(api: StandInApiServer, dir: string, options: KubeconfigOptions): Promise<string> {
  const b64 = (text: string) => Buffer.from(text).toString('base64')
  const {auth, context} = options
  let user: string
  if (auth === 'certificate')
    user = `    client-certificate-data: ${b64(api.client.cert)}\n    client-key-data: ${b64(api.client.key)}\n`
  else if (auth === 'token') user = `    token: ${api.token}\n`
  else if (auth === 'exec') {
    // client.authentication.k8s.io/v1 ExecCredential, as gke-gcloud-auth-plugin prints it.
    const plugin = path.join(dir, `${context}-credential.js`)
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: {token: api.token},
    }
    await writeFile(plugin, `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})\n`)
    user = `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${process.execPath}\n      args: [${JSON.stringify(plugin)}]\n      interactiveMode: Never\n`
  } else user = '    {}\n'
  const trust = options.skipTlsVerify
    ? '    insecure-skip-tls-verify: true\n'
    : `    certificate-authority-data: ${b64(api.caPem)}\n`
  const file = path.join(dir, `${context}.kubeconfig`)
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: ${context}
clusters:
- name: ${context}
  cluster:
${trust}    server: ${options.server ?? api.url}
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}
users:
- name: ${context}
  user:
${user}`,
  )
  return file
}
