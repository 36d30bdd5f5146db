/**
 * GET requests to a cluster's API server, authenticated as kubectl would be: @kubernetes/client-node applies
 * every kubeconfig auth kind (client certificates, bearer tokens, exec credential plugins such as
 * gke-gcloud-auth-plugin, OIDC, proxy-url, insecure-skip-tls-verify). Import this module only where a
 * request is made: the library alone takes about 0.4 s to load.
 */
import http from 'node:http'
import https from 'node:https'
import {connect} from 'node:net'

import type {KubeContext} from './context.js'

/** How long one read may take, credentials included: an unreachable API server must not hold up kudev. */
export const API_TIMEOUT_MS = 3000

/** What the API server answered: a JSON body, or why there is none. */
export type ApiAnswer =
  | {status: 'ok'; body: unknown}
  | {status: 'not-found'}
  /** 401 or 403: the credentials are refused, or RBAC does not allow the read. */
  | {status: 'denied'; code: number; message: string}
  /** No usable answer: unreachable, timed out, TLS refused, another status, not JSON. */
  | {status: 'failed'; message: string}

export interface ApiRequestOptions {
  timeoutMs?: number
  signal?: AbortSignal
}

/** `GET <server><path>` as the context's user; never throws. */
export async function apiGet(
  context: Pick<KubeContext, 'name' | 'files' | 'server'>,
  path: string,
  {signal, timeoutMs = API_TIMEOUT_MS}: ApiRequestOptions = {},
): Promise<ApiAnswer> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const abort = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
  const timedOut = new Promise<ApiAnswer>((resolve) =>
    abort.addEventListener(
      'abort',
      () =>
        resolve({
          message: timeout.aborted ? `no answer within ${timeoutMs / 1000} s` : 'interrupted',
          status: 'failed',
        }),
      {once: true},
    ),
  )
  // An exec credential plugin runs before the request is sent, so the time limit covers both.
  return Promise.race([timedOut, refused(context.server).then((failed) => failed ?? send(context, path, abort))])
}

/**
 * A local cluster that is not running refuses the connection: found out in a millisecond, without loading
 * the client library. Remote servers are left to the client (a proxy may stand between).
 */
async function refused(server: string | undefined): Promise<ApiAnswer | undefined> {
  let url: URL
  try {
    url = new URL(server ?? '')
  } catch {
    return undefined
  }

  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!(host === 'localhost' || host === '::1' || /^127\./.test(host))) return undefined
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443))
  return new Promise((resolve) => {
    const socket = connect({host, port}, () => {
      socket.destroy()
      resolve(undefined)
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socket.destroy()
      resolve(
        error.code === 'ECONNREFUSED'
          ? {message: `${error.code}: nothing listens on ${url.host}`, status: 'failed'}
          : undefined,
      )
    })
  })
}

async function send(context: Pick<KubeContext, 'name' | 'files'>, path: string, signal: AbortSignal) {
  let options: https.RequestOptions & {headers?: Record<string, string | string[] | number>}
  let server: string
  try {
    const config = await clientConfig(context)
    server = config.getCurrentCluster()?.server ?? ''
    options = {}
    await config.applyToHTTPSOptions(options)
  } catch (error) {
    return {message: `cannot use the kubeconfig's credentials: ${(error as Error).message}`, status: 'failed'} as const
  }

  const url = `${server.replace(/\/+$/, '')}${path}`
  return new Promise<ApiAnswer>((resolve) => {
    const transport = url.startsWith('http:') ? http : https
    // A malformed CA or key in the kubeconfig throws here, synchronously.
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({message: error.code ? `${error.code}: ${error.message}` : error.message, status: 'failed'})
    let request: http.ClientRequest
    try {
      request = transport.get(
        url,
        {agent: options.agent, auth: options.auth, headers: {...options.headers, accept: 'application/json'}, signal},
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', (error) => resolve({message: error.message, status: 'failed'}))
          response.on('end', () => resolve(answer(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))))
        },
      )
    } catch (error) {
      failed(error as NodeJS.ErrnoException)
      return
    }

    request.on('error', failed)
  })
}

function answer(code: number, text: string): ApiAnswer {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }

  if (code === 200)
    return body === undefined ? {message: 'the answer is not JSON', status: 'failed'} : {body, status: 'ok'}
  if (code === 404) return {status: 'not-found'}
  // The API server explains itself in a Status object's message.
  const message =
    typeof body === 'object' && body !== null && typeof (body as {message?: unknown}).message === 'string'
      ? (body as {message: string}).message
      : text.trim().slice(0, 200) || `HTTP ${code}`
  if (code === 401 || code === 403) return {code, message, status: 'denied'}
  return {message: `HTTP ${code}: ${message}`, status: 'failed'}
}

/**
 * The context, its cluster and its user, each from the first kubeconfig file that defines it (client-go's
 * merge rule; client-node's own merge refuses a name defined twice), as a client-node KubeConfig.
 */
async function clientConfig(context: Pick<KubeContext, 'name' | 'files'>) {
  const {KubeConfig} = await import('@kubernetes/client-node')
  const loaded = context.files.map((file) => {
    const config = new KubeConfig()
    config.loadFromFile(file, {onInvalidEntry: 'filter'})
    return config
  })
  const first = <T>(pick: (config: InstanceType<typeof KubeConfig>) => T | null | undefined): T | undefined => {
    for (const config of loaded) {
      const found = pick(config)
      if (found) return found
    }

    return undefined
  }

  const entry = first((config) => config.getContextObject(context.name))
  if (entry === undefined) throw new Error(`no usable context "${context.name}"`)
  const cluster = first((config) => config.getCluster(entry.cluster))
  if (cluster === undefined) throw new Error(`no usable cluster "${entry.cluster}"`)
  const user = entry.user ? first((config) => config.getUser(entry.user)) : undefined
  const config = new KubeConfig()
  config.loadFromOptions({
    clusters: [cluster],
    contexts: [entry],
    currentContext: entry.name,
    users: user ? [user] : [],
  })
  return config
}
