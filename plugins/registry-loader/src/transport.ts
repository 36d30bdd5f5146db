/**
 * One GET to a registry's API with node:http / node:https. Node 20's global fetch cannot take a private
 * CA or a client certificate without the undici package; `https.request` takes both (`ca`, `cert`,
 * `key`) and lets Docker's "insecure registry" mode skip verification (`rejectUnauthorized: false`).
 */
import http from 'node:http'
import https from 'node:https'
import type {SecureContext} from 'node:tls'

/** How one endpoint of a registry is reached. */
export interface Endpoint {
  /** `https://HOST[:PORT]` or `http://HOST[:PORT]`. */
  base: string
  /**
   * HTTPS only: verify the server's certificate against `secureContext` (Docker's secure registries), or
   * not at all (Docker's insecure registries, loopback ones among them: TLS without verification).
   */
  verify: boolean
  /** The CAs to trust and the client certificate to show, made once per registry. */
  secureContext?: SecureContext
}

export interface Answer {
  url: string
  status: number
  statusText: string
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** A request that got no HTTP answer: `kind` says why, `code` is Node's or OpenSSL's error code. */
export class RequestFailure extends Error {
  constructor(
    readonly url: string,
    readonly kind: 'aborted' | 'network' | 'timeout' | 'too-large',
    readonly code: string | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'RequestFailure'
  }

  /**
   * True when the server is there and the failure was in TLS or in what came back: a plain-HTTP server
   * answering a TLS hello, a handshake alert. Retrying the same host and port over plain HTTP can help
   * only then (a refused connection or an unknown host fails the same way).
   */
  get protocolLevel(): boolean {
    return this.kind === 'network' && !CONNECTION_CODES.has(this.code ?? '')
  }

  /** A server certificate the client could not verify. */
  get certificate(): boolean {
    return (
      this.code !== undefined &&
      !this.code.startsWith('ERR_SSL_') &&
      /CERT|SELF_SIGNED|ISSUER|UNABLE_TO_(GET|VERIFY)/.test(this.code)
    )
  }

  /** The server's TLS alert about the client's certificate: none shown, or one it does not accept. */
  get clientCertificate(): boolean {
    return (
      this.code !== undefined &&
      /^ERR_SSL_TLSV1\d?_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA)$/.test(this.code)
    )
  }
}

const CONNECTION_CODES = new Set([
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
])

export interface GetOptions {
  headers: Record<string, string>
  /** The whole request, answer included, may take this long. */
  timeoutMs: number
  /** Larger answers fail as `too-large` without being read to the end. */
  maxBytes: number
  signal?: AbortSignal
}

/** GET `endpoint.base + path`: the answer whatever its status, or a RequestFailure. */
export function get(endpoint: Endpoint, path: string, options: GetOptions): Promise<Answer> {
  const url = `${endpoint.base}${path}`
  return new Promise<Answer>((resolve, reject) => {
    let settled = false
    const finish = (error: RequestFailure | undefined, answer?: Answer) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (error === undefined) resolve(answer!)
      else {
        request.destroy()
        reject(error)
      }
    }

    const secure = url.startsWith('https:')
    const request = (secure ? https : http).request(url, {
      // One connection per request: kudev asks a registry two or three things per run, and a kept-alive
      // socket would only hold the process open.
      agent: false,
      headers: options.headers,
      method: 'GET',
      ...(secure ? {rejectUnauthorized: endpoint.verify, secureContext: endpoint.secureContext} : {}),
    })
    const onAbort = () => finish(new RequestFailure(url, 'aborted', undefined, `interrupted: GET ${url}`))
    const timer = setTimeout(
      () => finish(new RequestFailure(url, 'timeout', undefined, `no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    )
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, {once: true})

    request.on('error', (error: NodeJS.ErrnoException) =>
      finish(new RequestFailure(url, 'network', error.code, error.message)),
    )
    request.on('response', (response) => {
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxBytes)
          finish(new RequestFailure(url, 'too-large', undefined, `more than ${options.maxBytes} bytes`))
        else chunks.push(chunk)
      })
      response.on('error', (error: NodeJS.ErrnoException) =>
        finish(new RequestFailure(url, 'network', error.code, error.message)),
      )
      response.on('end', () =>
        finish(undefined, {
          body: Buffer.concat(chunks),
          headers: response.headers,
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          url,
        }),
      )
    })
    request.end()
  })
}

/** A header's single value (the first when repeated). */
export function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

/** The parameters of a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge. */
export function bearerChallenge(value: string | undefined): Record<string, string> | undefined {
  const match = value === undefined ? null : /^\s*bearer\s+(.*)$/i.exec(value)
  if (match === null) return undefined
  const parameters: Record<string, string> = {}
  for (const [, name, quoted, bare] of match[1]!.matchAll(/([a-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gi))
    parameters[name!.toLowerCase()] = quoted === undefined ? (bare ?? '') : quoted.replaceAll(/\\(.)/g, '$1')
  return parameters.realm === undefined ? undefined : parameters
}
