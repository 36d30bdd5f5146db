import type {PluginToolkit} from 'kudev'

export const DOCKER = 'docker'

const INSTALL_HINT =
  'install Docker Desktop (macOS, Windows) or the docker.io package (Debian, Ubuntu: sudo apt-get install docker.io), and make sure `docker` is on PATH'

const START_HINT = 'start Docker Desktop, or on Linux the daemon: sudo systemctl start docker (or run dockerd)'

/** Long enough for Docker Desktop to answer while it starts; a daemon that accepts but never answers would hang the CLI for good. */
export const ENGINE_TIMEOUT_MS = 20_000

export interface EngineInfo {
  client: string
  server: string
}

export type BuilderMode = 'buildkit' | 'classic'

/**
 * `docker version` answers when the CLI is installed and the daemon it points at (DOCKER_HOST,
 * DOCKER_CONTEXT, or the default socket) accepts this user; any other outcome becomes an `engine` error
 * that says which of those failed.
 */
export async function checkEngine(
  toolkit: PluginToolkit,
  env: NodeJS.ProcessEnv,
  timeoutMs = ENGINE_TIMEOUT_MS,
): Promise<EngineInfo> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const result = await toolkit
    .exec(DOCKER, ['version', '--format', '{{json .}}'], {
      allowFailure: true,
      env,
      errorCode: 'engine',
      notFoundHint: INSTALL_HINT,
      signal: timeout,
    })
    .catch((error: unknown) => {
      if (!timeout.aborted) throw error
      throw toolkit.error('engine', `the Docker daemon did not answer within ${timeoutMs / 1000} s${envNote(env)}`, {
        data: {problem: 'timeout'},
        hint: [START_HINT, ...envAdvice(env)].join('; '),
      })
    })
  const version = parseVersion(result.stdout)
  if (result.exitCode === 0 && version?.server) return {client: version.client, server: version.server}
  throw (
    engineProblem(toolkit, result.stderr, env) ??
    toolkit.error(
      'engine',
      `docker version failed: ${lastLine(result.stderr) ?? `exit code ${result.exitCode}`}${envNote(env)}`,
      {
        details: toolkit.lastLines(result.stderr).slice(-10),
        hint: ['check that `docker version` works in this shell', ...envAdvice(env)].join('; '),
      },
    )
  )
}

/**
 * Recognises the docker CLI's own words for an unusable engine (real texts from CLI 20.10 and 28; see
 * the unit tests), anywhere a docker command fails; undefined when the failure is something else.
 */
export function engineProblem(toolkit: PluginToolkit, stderr: string, env: NodeJS.ProcessEnv): Error | undefined {
  const permission = /permission denied while trying to connect to the Docker daemon socket at (\S+?):?\s/i.exec(stderr)
  if (permission) {
    return toolkit.error('engine', `permission denied on the Docker socket ${permission[1]}${envNote(env)}`, {
      data: {address: permission[1], problem: 'permission'},
      hint: [
        'add your user to the docker group (sudo usermod -aG docker $USER, then log in again), or run kudev with sudo',
        ...envAdvice(env),
      ].join('; '),
    })
  }

  const unreachable = /Cannot connect to the Docker daemon at (\S+?)\.?\s+Is the docker daemon running\?/i.exec(stderr)
  if (
    unreachable ||
    /error during connect|connect: connection refused|connect: no such file or directory/i.test(stderr)
  ) {
    const address = unreachable?.[1] ?? env.DOCKER_HOST
    return toolkit.error('engine', `Docker daemon not reachable${address ? ` at ${address}` : ''}${envNote(env)}`, {
      data: {address, problem: 'unreachable'},
      details: unreachable ? [] : toolkit.lastLines(stderr).slice(-5),
      hint: [START_HINT, ...envAdvice(env)].join('; '),
    })
  }

  // CLI 28: `context "x": context not found: open …`; CLI 20.10: `context "x" does not exist`.
  const context = /context "([^"]+)":? (?:context not found|does not exist)/.exec(stderr)
  if (context) {
    const fromEnv = env.DOCKER_CONTEXT === context[1]
    return toolkit.error('engine', `Docker context "${context[1]}" does not exist${envNote(env)}`, {
      data: {context: context[1], problem: 'context'},
      hint: fromEnv
        ? '`docker context ls` lists the contexts; set DOCKER_CONTEXT to one of them, or unset it'
        : '`docker context ls` lists the contexts; `docker context use default` switches back',
    })
  }

  return undefined
}

/**
 * Which builder `docker build` runs, as the CLI decides it: CLI 23 and later build with BuildKit only
 * through the buildx plugin (and fail when DOCKER_BUILDKIT=1 asks for it without buildx); older CLIs
 * have BuildKit built in and use it when DOCKER_BUILDKIT=1.
 */
export async function detectBuilderMode(
  toolkit: PluginToolkit,
  env: NodeJS.ProcessEnv,
  engine: EngineInfo,
): Promise<BuilderMode> {
  const wanted = buildkitSetting(toolkit, env)
  if (wanted === false) return 'classic'
  if (majorVersion(engine.client) < 23) return wanted ? 'buildkit' : 'classic'
  const buildx = await toolkit.exec(DOCKER, ['buildx', 'version'], {allowFailure: true, env})
  if (buildx.exitCode === 0) return 'buildkit'
  if (!wanted) return 'classic'
  throw toolkit.error(
    'engine',
    `BuildKit is enabled (DOCKER_BUILDKIT=${env.DOCKER_BUILDKIT}) but the buildx component is missing or broken: docker ${engine.client} builds with BuildKit only through buildx`,
    {
      data: {problem: 'buildx'},
      details: toolkit.lastLines(buildx.stderr || buildx.stdout).slice(-5),
      hint: 'unset DOCKER_BUILDKIT (or set it to 0) to build with the classic builder, or install buildx: https://docs.docker.com/go/buildx/',
    },
  )
}

/** DOCKER_BUILDKIT as the CLI reads it (Go's strconv.ParseBool); undefined when unset. */
export function buildkitSetting(toolkit: PluginToolkit, env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env.DOCKER_BUILDKIT
  if (value === undefined || value === '') return undefined
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false
  throw toolkit.error('engine', `DOCKER_BUILDKIT=${value} is not a boolean, so docker refuses to build`, {
    hint: 'set DOCKER_BUILDKIT=1 for BuildKit or 0 for the classic builder, or unset it',
  })
}

export function majorVersion(version: string): number {
  const major = Number.parseInt(version, 10)
  return Number.isNaN(major) ? 0 : major
}

function parseVersion(stdout: string): {client: string; server?: string} | undefined {
  // CLI 20.10 and 28 both print the JSON, with "Server": null, even when the daemon is unreachable.
  const line = stdout.split('\n').find((text) => text.startsWith('{'))
  if (line === undefined) return undefined
  try {
    const parsed = JSON.parse(line) as {Client?: {Version?: string}; Server?: {Version?: string} | null}
    return {client: parsed.Client?.Version ?? '', server: parsed.Server?.Version}
  } catch {
    return undefined
  }
}

/** Names the variables that chose the daemon, since they are the usual reason it is the wrong one. */
export function envNote(env: NodeJS.ProcessEnv): string {
  const set = (['DOCKER_HOST', 'DOCKER_CONTEXT'] as const)
    .filter((name) => env[name])
    .map((name) => `${name}=${env[name]}`)
  return set.length > 0 ? ` (${set.join(', ')})` : ''
}

function envAdvice(env: NodeJS.ProcessEnv): string[] {
  const advice: string[] = []
  if (env.DOCKER_HOST)
    advice.push(
      `DOCKER_HOST is set to ${env.DOCKER_HOST}: check that a daemon listens there, or unset it to use the default`,
    )
  if (env.DOCKER_CONTEXT)
    advice.push(
      `DOCKER_CONTEXT is set to ${env.DOCKER_CONTEXT}: check that context's daemon (docker context inspect ${env.DOCKER_CONTEXT}), or unset it`,
    )
  return advice
}

export function lastLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1)
}
