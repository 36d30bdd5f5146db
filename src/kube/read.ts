import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {getSystemErrorMap} from 'node:util'

import {KudevError} from '../output/errors.js'
import {displayPath, kubeconfigSearch, type KubeconfigLocationOptions, type KubeconfigSearch} from './files.js'

/** Kubeconfig extensions by name: the file stores them as a list of {name, extension}. */
export type KubeExtensions = Record<string, unknown>

export interface KubeconfigContextEntry {
  name: string
  /** Undefined when the entry names no cluster: kubectl reads such a context but cannot connect with it. */
  cluster?: string
  namespace?: string
  user?: string
  extensions: KubeExtensions
  /** The kubeconfig file this entry came from. */
  file: string
}

export interface KubeconfigClusterEntry {
  name: string
  server?: string
  /**
   * A digest of what makes the cluster that cluster (server, certificate authority, TLS settings): a cluster
   * deleted and created again under the same name gets a new CA and port, so a new identity.
   */
  identity: string
  extensions: KubeExtensions
  file: string
}

/**
 * The merged view of every kubeconfig file, as kubectl sees it. Users (credentials) are not kept: kudev only needs
 * the user's name, which the context entry holds.
 */
export interface Kubeconfig {
  /** The files that existed and were read, in precedence order. */
  files: string[]
  /** The home directory the default file was looked up in; also shortens paths in messages. */
  home: string
  currentContext?: {name: string; file: string}
  contexts: ReadonlyMap<string, KubeconfigContextEntry>
  clusters: ReadonlyMap<string, KubeconfigClusterEntry>
}

interface FileConfig {
  currentContext?: string
  contexts: KubeconfigContextEntry[]
  clusters: KubeconfigClusterEntry[]
}

/** Reads and merges the kubeconfig files kubectl would read; throws KudevError('kube') when none exists. */
export async function readKubeconfig(options: KubeconfigLocationOptions = {}): Promise<Kubeconfig> {
  const search = kubeconfigSearch(options)
  const files: string[] = []
  const configs: FileConfig[] = []
  for (const file of search.files) {
    const text = await readIfPresent(file, search.home)
    if (text === undefined) continue
    files.push(file)
    configs.push(await parseKubeconfig(text, file, search.home))
  }

  if (files.length === 0) throw noKubeconfig(search)
  return merge(configs, files, search.home)
}

/**
 * client-go's merge: for named entries the first file that defines a name wins (later definitions are ignored
 * whole, not merged field by field); current-context comes from the first file that sets it to a non-empty value.
 */
function merge(configs: FileConfig[], files: string[], home: string): Kubeconfig {
  const contexts = new Map<string, KubeconfigContextEntry>()
  const clusters = new Map<string, KubeconfigClusterEntry>()
  let currentContext: Kubeconfig['currentContext']
  for (const [index, config] of configs.entries()) {
    if (currentContext === undefined && config.currentContext !== undefined) {
      currentContext = {name: config.currentContext, file: files[index]!}
    }

    for (const context of config.contexts) if (!contexts.has(context.name)) contexts.set(context.name, context)
    for (const cluster of config.clusters) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster)
  }

  return {files, home, currentContext, contexts, clusters}
}

async function readIfPresent(file: string, home: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    // client-go skips list entries that do not exist, silently; any other read failure is an error for kubectl.
    if (errnoCode(error) === 'ENOENT') return undefined
    throw new KudevError('kube', `cannot read kubeconfig ${displayPath(file, home)}: ${osReason(error)}`, {
      hint: 'make the file readable, or remove it from KUBECONFIG',
      data: {file},
      cause: error,
    })
  }
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

function osReason(error: unknown): string {
  const errno = error instanceof Error && 'errno' in error && typeof error.errno === 'number' ? error.errno : undefined
  const known = errno === undefined ? undefined : getSystemErrorMap().get(errno)
  if (known) return `${known[1]} (${known[0]})`
  return error instanceof Error ? error.message : String(error)
}

function noKubeconfig(search: KubeconfigSearch): KudevError {
  const {files, kubeconfigEnv, home} = search
  let looked: string
  if (kubeconfigEnv === undefined) looked = `looked at ${displayPath(files[0]!, home)}`
  else if (files.length === 0) looked = `KUBECONFIG=${kubeconfigEnv} names no files`
  else if (files.length === 1) looked = `KUBECONFIG=${kubeconfigEnv}: the file does not exist`
  else looked = `KUBECONFIG=${kubeconfigEnv}: none of these files exists`
  return new KudevError('kube', `no kubeconfig found (${looked})`, {
    hint:
      'start a local cluster (kind create cluster, minikube start, or enable Kubernetes in Docker Desktop), ' +
      'or set KUBECONFIG to your kubeconfig file',
    data: {files},
  })
}

type YamlPath = Array<string | number>
type Fail = (at: YamlPath, problem: string) => never

async function parseKubeconfig(text: string, file: string, home: string): Promise<FileConfig> {
  const {LineCounter, parseDocument} = await import('yaml')
  const lineCounter = new LineCounter()
  const document = parseDocument(text, {lineCounter})
  const shown = displayPath(file, home)

  const [syntaxError] = document.errors
  if (syntaxError) {
    const position = syntaxError.linePos?.[0]
    // The yaml message ends with " at line L, column C:" and a code frame; the location goes up front instead.
    const [problem = syntaxError.message, frame = ''] = syntaxError.message.split(/ at line \d+, column \d+:\n/)
    throw new KudevError(
      'kube',
      `${shown}${position ? `:${position.line}:${position.col}` : ''}: invalid YAML: ${problem}`,
      {
        hint: 'fix the YAML syntax (kubectl cannot read this file either)',
        details: frame.split('\n').filter((line) => line.trim() !== ''),
        data: {file},
      },
    )
  }

  const fail: Fail = (at, problem) => {
    throw new KudevError('kube', `${shown}${locate(document, lineCounter, at)}: ${problem}`, {
      hint: 'fix the file (kubectl cannot read it either), or remove it from KUBECONFIG',
      data: {file},
    })
  }

  const root = mapping(document.toJS(), [], fail)
  return {
    currentContext: optionalString(root['current-context'], ['current-context'], fail),
    contexts: namedList(root.contexts, ['contexts'], 'context', fail).map(({name, body, at}) => {
      const context = mapping(body, at, fail)
      return {
        name,
        cluster: optionalString(context.cluster, [...at, 'cluster'], fail),
        namespace: optionalString(context.namespace, [...at, 'namespace'], fail),
        user: optionalString(context.user, [...at, 'user'], fail),
        extensions: extensions(context.extensions, [...at, 'extensions'], fail),
        file,
      }
    }),
    clusters: namedList(root.clusters, ['clusters'], 'cluster', fail).map(({name, body, at}) => {
      const cluster = mapping(body, at, fail)
      return {
        name,
        server: optionalString(cluster.server, [...at, 'server'], fail),
        identity: identity(cluster),
        extensions: extensions(cluster.extensions, [...at, 'extensions'], fail),
        file,
      }
    }),
  }
}

/** ":line:col" of the deepest node on the path that exists (a missing key points at its parent). */
function locate(
  document: {contents: unknown; getIn(path: YamlPath, keepScalar: true): unknown},
  lineCounter: {linePos(offset: number): {line: number; col: number}},
  at: YamlPath,
): string {
  for (let depth = at.length; depth >= 0; depth--) {
    const node = depth === 0 ? document.contents : document.getIn(at.slice(0, depth), true)
    const range = typeof node === 'object' && node !== null && 'range' in node ? node.range : undefined
    if (Array.isArray(range) && typeof range[0] === 'number') {
      const {line, col} = lineCounter.linePos(range[0])
      return `:${line}:${col}`
    }
  }

  return ''
}

function label(at: YamlPath): string {
  if (at.length === 0) return 'the document'
  return at.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${part}`)).join('')
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`
}

// Absent and null read as empty, as they do for client-go's decoder.
function mapping(value: unknown, at: YamlPath, fail: Fail): Record<string, unknown> {
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    return fail(at, `${label(at)} must be a mapping, not ${describe(value)}`)
  return value as Record<string, unknown>
}

function list(value: unknown, at: YamlPath, fail: Fail): unknown[] {
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) return fail(at, `${label(at)} must be a list, not ${describe(value)}`)
  return value
}

// An empty string means unset in client-go (e.g. `current-context: ""` after `kind delete cluster`).
function optionalString(value: unknown, at: YamlPath, fail: Fail): string | undefined {
  if (value === null || value === undefined || value === '') return undefined
  if (typeof value !== 'string') return fail(at, `${label(at)} must be a string, not ${describe(value)}`)
  return value
}

function namedList(
  value: unknown,
  at: YamlPath,
  bodyKey: string,
  fail: Fail,
): Array<{name: string; body: unknown; at: YamlPath}> {
  const seen = new Set<string>()
  return list(value, at, fail).map((item, index) => {
    const itemAt = [...at, index]
    const entry = mapping(item, itemAt, fail)
    const name = optionalString(entry.name, [...itemAt, 'name'], fail)
    if (name === undefined) return fail(itemAt, `${label(itemAt)} has no name`)
    // client-go's conversion rejects a name listed twice in one file (across files, the first wins instead).
    if (seen.has(name)) return fail([...itemAt, 'name'], `${label(at)} lists "${name}" twice`)
    seen.add(name)
    return {name, body: entry[bodyKey], at: [...itemAt, bodyKey]}
  })
}

function extensions(value: unknown, at: YamlPath, fail: Fail): KubeExtensions {
  // fromEntries defines own properties, so an extension named "__proto__" cannot touch the prototype.
  return Object.fromEntries(namedList(value, at, 'extension', fail).map(({name, body}) => [name, body]))
}

function identity(cluster: Record<string, unknown>): string {
  const fields = ['server', 'certificate-authority-data', 'certificate-authority', 'insecure-skip-tls-verify']
  const text = JSON.stringify(fields.map((field) => cluster[field] ?? null))
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}
