/**
 * The registry a cluster advertises for local images (KEP-1755): the ConfigMap
 * `kube-public/local-registry-hosting`, written by kind's registry recipe, k3d and ctlptl, whose data key
 * `localRegistryHosting.v1` holds YAML with `host`, `hostFromContainerRuntime`, `hostFromClusterNetwork`
 * and `help`. Asking costs a client library and a round trip, so the answer is remembered per cluster for
 * a day, keyed by the cluster's identity: a cluster created again under the same name is asked again.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {parse} from 'yaml'

import {cacheDir, writeAtomically} from '../hash/cache-file.js'
import type {ApiAnswer} from './api.js'
import type {KubeContext} from './context.js'

export const HOSTING_CONFIGMAP = 'kube-public/local-registry-hosting'
const HOSTING_PATH = '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting'
/** The versions of the data key this kudev reads, newest first. */
const UNDERSTOOD_VERSIONS = [1]
/** How long a remembered answer holds. */
export const REMEMBER_MS = 24 * 60 * 60 * 1000
const CACHE_VERSION = 1

export interface LocalRegistryHosting {
  /** Where the host (kudev, docker push) reaches the registry: `localhost:5001`. */
  host: string
  /** Where the nodes' container runtime pulls from, when it differs from host: `kind-registry:5000`. */
  hostFromContainerRuntime?: string
  /** Where pods reach it over the cluster network. */
  hostFromClusterNetwork?: string
  /** A page about the cluster's registry. */
  help?: string
}

export interface AdvertisedRegistry {
  /** The registry, or undefined when the cluster advertises none (or the answer could not be had). */
  hosting?: LocalRegistryHosting
  /** `cluster`: asked now; `remembered`: from an earlier ask; `unknown`: the cluster could not be asked. */
  source: 'cluster' | 'remembered' | 'unknown'
  /** What kudev noticed on the way (ignored versions, a forbidden read, an unreachable server), for -v. */
  notes: string[]
}

export interface AdvertisedOptions {
  /** Ask the cluster even when an answer is remembered (kudev doctor). */
  fresh?: boolean
  env?: NodeJS.ProcessEnv
  now?: number
  /** The request; the real one by default (tests pass their own). */
  get?: (context: KubeContext, path: string) => Promise<ApiAnswer>
}

/** The registry the context's cluster advertises: remembered, or asked of its API server. */
export async function advertisedRegistry(
  context: KubeContext,
  {env = process.env, fresh = false, get, now = Date.now()}: AdvertisedOptions = {},
): Promise<AdvertisedRegistry> {
  const file = cacheFile(context, env)
  const remembered = fresh || file === undefined ? undefined : recall(file, now)
  if (remembered !== undefined) {
    const asked = new Date(remembered.askedAt).toISOString()
    return {
      hosting: remembered.hosting,
      notes: [...remembered.notes, `remembered from ${asked} (kudev doctor asks again)`],
      source: 'remembered',
    }
  }

  const request = get ?? (async (on, where) => (await import('./api.js')).apiGet(on, where))
  const answer = await request(context, HOSTING_PATH)
  const result = read(answer)
  if (result.source === 'cluster' && file !== undefined)
    remember(file, {...result, askedAt: now, context: context.name})
  return result
}

/** Reads the API server's answer. A read RBAC forbids means "none advertised"; a server that cannot be asked, "unknown". */
export function read(answer: ApiAnswer): AdvertisedRegistry {
  switch (answer.status) {
    case 'not-found':
      return {notes: [`the cluster advertises no registry (no ConfigMap ${HOSTING_CONFIGMAP})`], source: 'cluster'}
    case 'denied':
      // 401 is the credentials themselves: not worth remembering, the user will fix them.
      return answer.code === 403
        ? {notes: [`cannot read ConfigMap ${HOSTING_CONFIGMAP}: ${answer.message}`], source: 'cluster'}
        : {notes: [`the API server refused kudev's credentials: ${answer.message}`], source: 'unknown'}
    case 'failed':
      return {notes: [`cannot ask the cluster for a registry: ${answer.message}`], source: 'unknown'}
    case 'ok':
      return {...parseHosting(answer.body), source: 'cluster'}
  }
}

/** The newest understood version of the ConfigMap's data; other versions and bad fields are noted, not fatal. */
export function parseHosting(configMap: unknown): {hosting?: LocalRegistryHosting; notes: string[]} {
  const data = (configMap as {data?: unknown} | null)?.data
  const notes: string[] = []
  if (typeof data !== 'object' || data === null) return {notes: [`ConfigMap ${HOSTING_CONFIGMAP} has no data`]}
  const versions = Object.keys(data)
    .map((key) => /^localRegistryHosting\.v(\d+)$/.exec(key))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
  const unknown = versions.filter((version) => !UNDERSTOOD_VERSIONS.includes(version))
  if (unknown.length > 0)
    notes.push(`ignored localRegistryHosting.v${unknown.sort((a, b) => a - b).join(', .v')} (this kudev reads .v1)`)
  const version = UNDERSTOOD_VERSIONS.find((understood) => versions.includes(understood))
  if (version === undefined) return {notes: [...notes, `ConfigMap ${HOSTING_CONFIGMAP} has no localRegistryHosting.v1`]}
  const key = `localRegistryHosting.v${version}`
  const text = (data as Record<string, unknown>)[key]
  let fields: unknown
  try {
    fields = typeof text === 'string' ? parse(text) : undefined
  } catch {
    fields = undefined
  }

  if (typeof fields !== 'object' || fields === null)
    return {notes: [...notes, `${key} in ${HOSTING_CONFIGMAP} is not a YAML mapping`]}
  const field = (name: keyof LocalRegistryHosting) => {
    const value = (fields as Record<string, unknown>)[name]
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
  }

  const host = field('host')
  if (host === undefined) return {notes: [...notes, `${key} in ${HOSTING_CONFIGMAP} names no host`]}
  const hosting: LocalRegistryHosting = {host}
  for (const name of ['hostFromContainerRuntime', 'hostFromClusterNetwork', 'help'] as const) {
    const value = field(name)
    if (value !== undefined) hosting[name] = value
  }

  return {hosting, notes}
}

interface Remembered {
  version: number
  askedAt: number
  context: string
  hosting?: LocalRegistryHosting
  notes: string[]
}

/** One file per context and cluster identity; undefined when the context names no cluster entry. */
function cacheFile(context: KubeContext, env: NodeJS.ProcessEnv): string | undefined {
  if (context.clusterIdentity === undefined) return undefined
  const key = createHash('sha256').update(`${context.name}\0${context.clusterIdentity}`).digest('hex').slice(0, 32)
  return path.join(cacheDir(env), 'clusters', `${key}.json`)
}

function recall(file: string, now: number): Remembered | undefined {
  let parsed: Remembered
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Remembered
  } catch {
    return undefined
  }

  const fresh = parsed?.version === CACHE_VERSION && typeof parsed.askedAt === 'number'
  if (!fresh || now - parsed.askedAt > REMEMBER_MS || parsed.askedAt > now) return undefined
  const hosting = parsed.hosting
  if (hosting !== undefined && (typeof hosting !== 'object' || typeof hosting?.host !== 'string')) return undefined
  return {...parsed, notes: Array.isArray(parsed.notes) ? parsed.notes.filter((note) => typeof note === 'string') : []}
}

function remember(file: string, {askedAt, context, hosting, notes}: Omit<Remembered, 'version'>): void {
  const entry: Remembered = {askedAt, context, hosting, notes, version: CACHE_VERSION}
  try {
    writeAtomically(file, Buffer.from(`${JSON.stringify(entry)}\n`))
  } catch {
    // A cache kudev cannot write only means asking again next time.
  }
}
