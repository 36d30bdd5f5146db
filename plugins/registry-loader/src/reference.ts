/**
 * Registry names as users write them (`HOST[:PORT][/PATH]`) and the names images get there, by the
 * grammar Docker's reference parser (distribution/reference) uses.
 */

/** What --registry / spec.registry may be; said in every error about a malformed value. */
export const REGISTRY_FORM =
  'HOST[:PORT][/PATH], e.g. 127.0.0.1:5001, localhost:5001 or registry.example.com/team (no scheme, lowercase path)'

const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?'
const HOST = `(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-fA-F:.]+\\])`
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REGISTRY = new RegExp(`^(${HOST})(?::([0-9]{1,5}))?((?:/${COMPONENT})*)$`)

export interface Registry {
  /** As the user wrote it: `127.0.0.1:5001/team`. */
  name: string
  /** `HOST[:PORT]`: what `docker login` takes. */
  host: string
  /** `HOST` alone: `127.0.0.1`, `registry.example.com`, `[::1]`. */
  hostname: string
  /** Repository prefix inside the registry, without slashes at either end (`team`), or ''. */
  path: string
}

/** The registry named by `value`, or a sentence saying what is wrong with it. */
export function parseRegistry(value: string): Registry | string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'a registry is named without a scheme (http:// or https://)'
  const match = REGISTRY.exec(value)
  if (match === null) return 'it is not of that form'
  const [, hostname = '', port, path = ''] = match
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return `port ${port} is out of range`
  // Docker reads the first component of a name as a registry only when it looks like one; otherwise
  // `myregistry/app` is Docker Hub's repository myregistry/app.
  if (port === undefined && !hostname.includes('.') && !hostname.startsWith('[') && hostname !== 'localhost')
    return `Docker would read "${hostname}" as a Docker Hub account, not a registry: add its port or domain`
  const host = port === undefined ? hostname : `${hostname}:${port}`
  return {
    host,
    hostname,
    name: value,
    path: path.replace(/^\//, ''),
  }
}

/** An image reference split as Docker does: registry host (if any), repository, tag. */
export function splitImageRef(ref: string): {domain?: string; repository: string; tag: string} {
  const name = ref.split('@')[0] ?? ref
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  const [path, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest']
  const first = path.indexOf('/')
  const head = first === -1 ? '' : path.slice(0, first)
  return /[.:]/.test(head) || head === 'localhost' || /[A-Z]/.test(head)
    ? {domain: head, repository: path.slice(first + 1), tag}
    : {repository: path, tag}
}

/** Repository (inside the registry) and tag an image gets there: `team/app` and `kudev-1a2b3c4d`. */
export function registryRepository(registry: Registry, ref: string): {repository: string; tag: string} {
  const {repository, tag} = splitImageRef(ref)
  return {repository: registry.path === '' ? repository : `${registry.path}/${repository}`, tag}
}

/** `<registry>/<image name without its registry host>:<tag>`: the name pushed, and pulled unless nodes reach the registry by another name. */
export function pushRefFor(registry: Registry, ref: string): string {
  const {repository, tag} = registryRepository(registry, ref)
  return `${registry.host}/${repository}:${tag}`
}
