import {KudevError} from '../output/errors.js'

/**
 * `--build-arg NAME=VALUE` values as docker build reads them: a bare `NAME` takes the value from the
 * environment. Later flags win over earlier ones.
 */
export function parseBuildArgs(
  values: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const args: Record<string, string> = {}
  for (const value of values) {
    const equals = value.indexOf('=')
    const name = equals === -1 ? value : value.slice(0, equals)
    if (name === '')
      throw new KudevError('usage', `--build-arg ${JSON.stringify(value)} has no name`, {
        hint: 'write --build-arg NAME=VALUE',
      })
    const resolved = equals === -1 ? env[name] : value.slice(equals + 1)
    if (resolved === undefined) {
      throw new KudevError('usage', `--build-arg ${name} has no value and ${name} is not set in the environment`, {
        hint: `write --build-arg ${name}=VALUE, or export ${name}`,
      })
    }

    args[name] = resolved
  }

  return args
}
