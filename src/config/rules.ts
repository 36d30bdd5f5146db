/**
 * Rules for single string values. Each returns what is wrong with the value (naming it), or
 * undefined when it is fine; callers add the field path, position and an example (checkFlag, for a flag).
 */
import {KudevError} from '../output/errors.js'

/**
 * A flag's value, checked by the rule of its spec field, so a bad one fails before anything runs: a usage
 * error naming the flag, with an example. Empty passes: Docker takes an empty --platform, --target or
 * --network as none.
 */
export function checkFlag(
  flag: string,
  value: string | undefined,
  rule: (value: string) => string | undefined,
  example: string,
): string | undefined {
  const problem = value ? rule(value) : undefined
  if (problem) throw new KudevError('usage', `${flag}: ${problem}`, {hint: `e.g. ${flag} ${example}`})
  return value
}

const quote = (value: string): string => JSON.stringify(value)

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** metadata.name and spec.namespace become Kubernetes object names, so they follow DNS-1123 label rules (3 chars minimum, as kudev has always required). */
export function checkDnsLabel(value: string): string | undefined {
  if (value.length < 3 || value.length > 63) return `${quote(value)} is ${value.length} characters long; use 3 to 63`
  if (!DNS_LABEL.test(value)) {
    return `${quote(value)} is not a DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit`
  }
  return undefined
}

// Docker's reference grammar (distribution/reference), lowercase only: Kubernetes and the loaders compare names as written.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN_COMPONENT = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])'
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`
const REPOSITORY = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)

/** Where an image reference's tag starts: a ':' after the last '/', so `localhost:5000/app` has none. */
function tagStart(value: string): number {
  const colon = value.lastIndexOf(':')
  return colon > value.lastIndexOf('/') ? colon : -1
}

/** The repository part of an image reference, dropping any digest and tag, to suggest as a fix. */
export function withoutTag(value: string): string {
  const noDigest = value.split('@')[0] ?? value
  const colon = tagStart(noDigest)
  return colon === -1 ? noDigest : noDigest.slice(0, colon)
}

/**
 * spec.imageName is an image repository (`my-app`, `registry.local:5000/team/app`), not a
 * Kubernetes name; the tag is left out because kudev derives it from the source.
 */
export function checkImageName(value: string): string | undefined {
  if (value.includes('@'))
    return `${quote(value)} includes a digest; kudev sets the tag itself, so give the repository only`
  const colon = tagStart(value)
  if (colon !== -1) {
    return `${quote(value)} includes a tag (${quote(value.slice(colon))}); kudev sets the tag itself, so give the repository only`
  }
  if (value !== value.toLowerCase()) return `${quote(value)} has uppercase letters; image names are lowercase`
  if (value.length > 255) return `${quote(value)} is ${value.length} characters long; image names are at most 255`
  if (!REPOSITORY.test(value)) {
    return `${quote(value)} is not an image repository name: use lowercase letters and digits, separated by '.', '_', '__' or '-', in '/'-separated parts`
  }
  return undefined
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/

export function checkEnvName(value: string): string | undefined {
  return ENV_NAME.test(value)
    ? undefined
    : `${quote(value)} is not a valid variable name: use uppercase letters, digits and '_', not starting with a digit`
}

/** The nearest valid variable name, offered as the example fix (`log-level` → `LOG_LEVEL`). */
export function toEnvName(value: string): string {
  const upper = value.toUpperCase().replaceAll(/[^A-Z0-9_]/g, '_')
  return /^[0-9]/.test(upper) || upper === '' ? `_${upper}` : upper
}

const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/

export function checkBuildArgName(value: string): string | undefined {
  return BUILD_ARG.test(value)
    ? undefined
    : `${quote(value)} is not a valid build argument name: use letters, digits and '_', not starting with a digit`
}

export function checkKubeContext(value: string): string | undefined {
  // Context names are free-form (`kubernetes-admin@kubernetes`, EKS ARNs); only blanks are surely a mistake.
  return /\s/.test(value) ? `${quote(value)} contains blanks; kubeconfig context names have none` : undefined
}

/** gitignore escapes these with a backslash; any other backslash is almost surely a Windows path separator. */
const ESCAPABLE = new Set(['\\', '#', '!', '*', '?', '[', ']', ' '])

export function checkExclusion(value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '\\') continue
    const next = value[i + 1]
    if (next === undefined || !ESCAPABLE.has(next)) {
      return `${quote(value)} uses '\\' as a path separator; patterns use '/' (gitignore syntax)`
    }
    i++
  }
  return undefined
}

const TARGET = /^[A-Za-z][A-Za-z0-9_.-]*$/

export function checkTarget(value: string): string | undefined {
  return TARGET.test(value)
    ? undefined
    : `${quote(value)} is not a build stage name: use letters, digits, '_', '.' and '-', starting with a letter`
}

const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_]+)?$/

// Go's operating systems and architectures (go/build/syslist.go), which Docker's platforms are made of, and
// the other names containerd's platforms.Normalize accepts for them.
const OSES = new Set(
  'aix android darwin dragonfly freebsd hurd illumos ios js linux netbsd openbsd plan9 solaris wasip1 windows zos macos'.split(
    ' ',
  ),
)
const ARCHES = new Set(
  '386 amd64 arm arm64 loong64 mips mipsle mips64 mips64le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm i386 x86_64 aarch64 armhf armel'.split(
    ' ',
  ),
)

export function checkPlatform(value: string): string | undefined {
  if (value.includes(',')) return `${quote(value)} lists several platforms; the image loaded into the cluster has one`
  if (!PLATFORM.test(value)) return `${quote(value)} is not a platform: write os/arch or os/arch/variant in lowercase`
  const [os = '', arch = ''] = value.split('/')
  if (!OSES.has(os))
    return `${quote(value)} is not a platform: "${os}" is not an operating system Docker knows (linux, windows, …)`
  if (!ARCHES.has(arch))
    return `${quote(value)} is not a platform: "${arch}" is not an architecture Docker knows (amd64, arm64, arm, …)`
  return undefined
}

const PLUGIN_NAME = /^[a-z][a-z0-9-]*$/

/** builder and loader name plugins, whose names are lowercase words joined by '-'. */
export function checkPluginName(value: string): string | undefined {
  return PLUGIN_NAME.test(value)
    ? undefined
    : `${quote(value)} is not a plugin name: use lowercase letters, digits and '-', starting with a letter`
}

// distribution/reference: a domain (or IPv4, or [IPv6]) with an optional port, then lowercase path components.
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/

/** A registry to push to, as Docker names one: `host[:port][/path]`, no scheme. */
export function checkRegistry(value: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(value))
    return `${quote(value)} is not a registry: write host[:port][/path] without ${value.slice(0, value.indexOf('//') + 2)}`
  if (!REGISTRY.test(value))
    return `${quote(value)} is not a registry: write host[:port][/path], e.g. localhost:5001 or registry.example.com/team`
  // Docker reads a first component as a registry only with a dot, a port, or as localhost (distribution/reference).
  const host = value.split('/')[0]!
  const port = /:([0-9]+)$/.exec(host)?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535))
    return `${quote(value)} is not a registry: port ${port} is out of range (1 to 65535)`
  return /[.:[]/.test(host) || host === 'localhost'
    ? undefined
    : `${quote(value)} is not a registry: Docker would read "${host}" as a Docker Hub account; add its port or domain`
}

const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export function checkNetwork(value: string): string | undefined {
  return NETWORK.test(value)
    ? undefined
    : `${quote(value)} is not a network name: use letters, digits, '_', '.' and '-', starting with a letter or digit`
}
