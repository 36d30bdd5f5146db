import {KudevError} from '../output/errors.js'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * spec.buildArgs overridden by --build-arg flags. `NAME=VALUE` sets a value; `NAME` alone takes it from the
 * environment and is left out when unset, as `docker build --build-arg NAME` does.
 */
export function mergeBuildArgs(configured: Record<string, string>, flags: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const merged = {...configured}
  for (const flag of flags) {
    const equals = flag.indexOf('=')
    const name = equals === -1 ? flag : flag.slice(0, equals)
    if (!NAME.test(name)) {
      throw new KudevError('usage', `--build-arg ${flag}: "${name}" is not a build argument name`, {hint: 'use NAME=VALUE, e.g. --build-arg VERSION=1.2'})
    }

    const value = equals === -1 ? env[name] : flag.slice(equals + 1)
    if (value !== undefined) merged[name] = value
  }

  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
