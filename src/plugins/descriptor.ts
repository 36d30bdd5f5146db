import {SUPPORTED_API_VERSIONS} from './contract.js'

const NAME = /^[a-z][a-z0-9-]{0,62}$/

/**
 * Why a descriptor cannot be used, or undefined when it can. User-installed plugins live in their own
 * node_modules and may be built against another kudev, so their answers are checked, never trusted.
 */
export function checkDescriptor(candidate: unknown, role: 'builder' | 'loader'): string | undefined {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    return `expected a ${role} descriptor object, got ${describe(candidate)}`
  }

  const descriptor = candidate as Record<string, unknown>
  const label = typeof descriptor.name === 'string' ? `"${descriptor.name}"` : 'descriptor'
  if (typeof descriptor.apiVersion !== 'number' || !SUPPORTED_API_VERSIONS.includes(descriptor.apiVersion)) {
    return (
      `${label} is written for plugin API version ${describe(descriptor.apiVersion)}, ` +
      `this kudev supports ${SUPPORTED_API_VERSIONS.join(', ')}; install a version of the plugin made for it`
    )
  }

  if (typeof descriptor.name !== 'string' || !NAME.test(descriptor.name)) {
    return `name ${describe(descriptor.name)} must be lowercase letters, digits and dashes (like "podman")`
  }

  if (typeof descriptor.description !== 'string') return `${label} has no description (a string)`
  if (typeof descriptor.create !== 'function') return `${label} has no create() function`
  if (role === 'loader' && descriptor.detect !== undefined && typeof descriptor.detect !== 'function') {
    return `${label} has a detect that is not a function`
  }

  return undefined
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === undefined) return 'nothing'
  if (typeof value === 'object' || typeof value === 'function') return `a ${typeof value}`
  return String(value as number | boolean | bigint | symbol)
}
