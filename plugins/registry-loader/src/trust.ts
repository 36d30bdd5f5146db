/**
 * How Docker decides to talk to a registry (moby's registry package), so kudev's own API reads reach
 * the registry the way `docker push` does:
 *
 * - Insecure registries: 127.0.0.0/8 and names resolving there (localhost), and those in the daemon's
 *   `insecure-registries` (`docker info`: RegistryConfig.IndexConfigs[host].Secure = false, or an address
 *   in RegistryConfig.InsecureRegistryCIDRs). HTTPS is tried first without verifying the certificate,
 *   then plain HTTP.
 * - Every other registry: HTTPS only, verified against the system's CAs plus every `*.crt` in
 *   `<certs.d>/<host[:port]>/`; a client certificate there (`*.cert` with the `*.key` of the same name)
 *   is shown when the server asks for one.
 *
 * `<certs.d>` is Docker's folder: /etc/docker/certs.d (on macOS and Windows, where Docker Desktop reads
 * it from the user's home, ~/.docker/certs.d). The environment variable KUDEV_DOCKER_CERTS_D replaces it
 * (tests point it at a folder of their own; kudev never writes there).
 */
import {lookup} from 'node:dns/promises'
import {readdir, readFile} from 'node:fs/promises'
import {BlockList, isIP} from 'node:net'
import {homedir} from 'node:os'
import path from 'node:path'
import {createSecureContext, rootCertificates, type SecureContext} from 'node:tls'

/** What Docker's daemon says about registries (`docker info --format '{{json .RegistryConfig}}'`). */
export interface RegistryConfig {
  IndexConfigs?: Record<string, {Secure?: boolean} | null> | null
  InsecureRegistryCIDRs?: string[] | null
}

export type Security = 'insecure' | 'secure'

/** Docker's certs.d folder, or the one KUDEV_DOCKER_CERTS_D names. */
export function defaultCertsDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const override = env.KUDEV_DOCKER_CERTS_D?.trim()
  if (override) return override
  return platform === 'linux' ? '/etc/docker/certs.d' : path.join(homedir(), '.docker', 'certs.d')
}

/** localhost and 127.0.0.0/8: insecure for every Docker daemon, whatever its configuration. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/**
 * Whether Docker treats `host` (`HOST[:PORT]`, as written in image names) as secure: its per-registry
 * setting first, then whether any address the name resolves to lies in an insecure CIDR (moby's
 * isSecureIndex). `resolve` is the name lookup (DNS); a name that does not resolve is secure.
 */
export async function dockerSecurity(
  host: string,
  config: RegistryConfig,
  resolve: (hostname: string) => Promise<string[]> = resolveAll,
): Promise<Security> {
  const indexed = config.IndexConfigs?.[host]
  if (indexed?.Secure !== undefined) return indexed.Secure ? 'secure' : 'insecure'
  const hostname = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
  const cidrs = ['127.0.0.0/8', ...(config.InsecureRegistryCIDRs ?? [])]
  const insecure = new BlockList()
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/')
    const family = isIP(address)
    if (family !== 0)
      insecure.addSubnet(address, Number(prefix ?? (family === 4 ? 32 : 128)), family === 4 ? 'ipv4' : 'ipv6')
  }

  const addresses = isIP(hostname) === 0 ? await resolve(hostname).catch(() => []) : [hostname]
  return addresses.some((address) => insecure.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'))
    ? 'insecure'
    : 'secure'
}

async function resolveAll(hostname: string): Promise<string[]> {
  return (await lookup(hostname, {all: true})).map((entry) => entry.address)
}

/** What a registry's certs.d folder holds, as moby's ReadCertsDirectory reads it. */
export interface CertsDirContent {
  /** The `*.crt` files: CAs to trust on top of the system's. */
  caFiles: string[]
  ca: string[]
  /** The first `*.cert` + `*.key` pair, by name. */
  client?: {certFile: string; cert: string; key: string}
}

/** Reads `<certsDir>/<host>/`; a missing folder holds nothing. A key without its certificate (or the reverse) is an error, as in Docker. */
export async function readCertsDir(certsDir: string, host: string): Promise<CertsDirContent> {
  const dir = path.join(certsDir, host)
  const names: string[] = await readdir(dir).then(
    (entries) => entries.sort(),
    (error: NodeJS.ErrnoException): string[] => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return []
      throw error
    },
  )
  const content: CertsDirContent = {ca: [], caFiles: []}
  for (const name of names) {
    const file = path.join(dir, name)
    if (name.endsWith('.crt')) {
      content.caFiles.push(file)
      content.ca.push(await readFile(file, 'utf8'))
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`
      if (!names.includes(keyName))
        throw new Error(`missing key ${keyName} for client certificate ${file} (CA certificates must end in .crt)`)
      content.client ??= {
        cert: await readFile(file, 'utf8'),
        certFile: file,
        key: await readFile(path.join(dir, keyName), 'utf8'),
      }
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`
      if (!names.includes(certName)) throw new Error(`missing client certificate ${certName} for key ${file}`)
    }
  }

  return content
}

/** Where Go (so Docker) finds the system's CA bundle on Linux; Node's own list does not include a CA added there. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
]

/**
 * The TLS context for a secure registry: Node's CAs, the system's bundle, NODE_EXTRA_CA_CERTS (which an
 * explicit CA list would otherwise drop) and the certs.d folder's CAs; its client certificate, if any.
 */
export async function secureContextFor(content: CertsDirContent, env = process.env): Promise<SecureContext> {
  const ca: string[] = [...rootCertificates]
  const extra = env.NODE_EXTRA_CA_CERTS ? await readFile(env.NODE_EXTRA_CA_CERTS, 'utf8').catch(() => '') : ''
  ca.push(...splitPem(extra), ...splitPem(await readFirst(SYSTEM_BUNDLES)), ...content.ca)
  return createSecureContext({ca, cert: content.client?.cert, key: content.client?.key})
}

async function readFirst(files: readonly string[]): Promise<string> {
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined)
    if (text !== undefined) return text
  }

  return ''
}

/** The certificates of a PEM bundle, one string each (a bundle may also hold comments). */
function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}
