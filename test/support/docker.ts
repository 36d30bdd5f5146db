/**
 * Helpers for integration tests that need a real Docker engine.
 *
 *   describe('…', function () {
 *     const cleanup = suiteCleanup()            // removes what the suite registers, in an `after` hook
 *     before(async function () { await requireDocker(this) })
 *     it('…', async () => { cleanup.image(tag); await docker(['build', '-t', tag, dir]) })
 *   })
 *
 * Every command runs through execa with an argument array, never a shell string.
 */
import {execa, type Options, type Result} from 'execa'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

/** The docker CLI the tests use: $KUDEV_TEST_DOCKER, else `docker` from PATH. */
export function dockerCli(): string {
  const override = process.env.KUDEV_TEST_DOCKER
  return override !== undefined && override.trim() !== '' ? override.trim() : 'docker'
}

/** True when $CI is set to something other than '', '0' or 'false'. */
export function isCI(): boolean {
  const ci = process.env.CI
  return ci !== undefined && !['', '0', 'false', 'no'].includes(ci.trim().toLowerCase())
}

export interface DockerRunOptions {
  /** Another docker CLI than dockerCli() (e.g. /usr/bin/docker for BuildKit). */
  cli?: string
  /** Extra environment variables (merged over process.env), e.g. {DOCKER_BUILDKIT: '1'}. */
  env?: Record<string, string | undefined>
  cwd?: string
  /** Written to the command's stdin. */
  input?: string | Uint8Array
  /** Milliseconds; default 120 s. */
  timeout?: number
}

function execaOptions(options: DockerRunOptions): Options {
  return {
    env: options.env,
    cwd: options.cwd,
    input: options.input,
    timeout: options.timeout ?? 120_000,
    reject: false,
    stripFinalNewline: true,
  }
}

export interface DockerResult {
  exitCode: number | undefined
  stdout: string
  stderr: string
  /** The command as run, for messages. */
  command: string
  failed: boolean
}

/** Runs docker with `args` and returns the outcome without throwing on failure. */
export async function dockerResult(args: readonly string[], options: DockerRunOptions = {}): Promise<DockerResult> {
  const result: Result = await execa(options.cli ?? dockerCli(), [...args], execaOptions(options))
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    command: result.command,
    failed: result.failed,
  }
}

/** Runs docker with `args` and returns its stdout (final newline stripped); throws with stderr on failure. */
export async function docker(args: readonly string[], options: DockerRunOptions = {}): Promise<string> {
  const result = await dockerResult(args, options)
  if (result.failed) {
    const why = result.exitCode === undefined ? 'could not run' : `exited with ${result.exitCode}`
    throw new Error(`${result.command} ${why}:\n${result.stderr.trim() || result.stdout.trim()}`)
  }

  return result.stdout
}

let engineCheck: Promise<DockerResult> | undefined

/** `docker info`, run once per process. */
function checkEngine(): Promise<DockerResult> {
  engineCheck ??= dockerResult(['info', '--format', '{{.ServerVersion}}'], {timeout: 30_000})
  return engineCheck
}

/**
 * Returns when a Docker engine answers `docker info`. Otherwise: in CI (where .ci/run starts one) throws,
 * so a missing engine fails the run instead of silently skipping; locally, skips the test or suite.
 * Call from `before`/`beforeEach`/`it` with mocha's `this`.
 */
export async function requireDocker(ctx: Mocha.Context): Promise<void> {
  const result = await checkEngine()
  if (!result.failed && result.stdout.trim() !== '') return
  const why = (result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`).split('\n')[0]
  if (isCI()) {
    throw new Error(
      `A Docker engine is required in CI, but \`${dockerCli()} info\` failed: ${why}\n` +
        'Start one with scripts/ensure-docker.sh (as root it installs docker.io and busybox-static if missing and ' +
        'runs `dockerd --iptables=false --bridge=none`); .ci/run does this before `npm test`.',
    )
  }

  ctx.skip()
}

type CleanupKind = 'container' | 'task' | 'image' | 'dir'
interface CleanupEntry {
  kind: CleanupKind
  label: string
  run: () => Promise<void>
}

const ORDER: CleanupKind[] = ['container', 'task', 'image', 'dir']

/**
 * Things to remove after tests, even when they fail. Containers go first (they hold images), then custom
 * tasks, then images, then directories; within a kind, the most recently registered goes first.
 * Failures are collected and reported on stderr, never thrown: cleanup must not hide a test's own result.
 */
export class CleanupRegistry {
  private entries: CleanupEntry[] = []

  /** `docker rm -f NAME` (also with `volumes`: -v). */
  container(name: string, options: DockerRunOptions = {}): string {
    this.entries.push({
      kind: 'container',
      label: `container ${name}`,
      run: () => removeQuietly(['rm', '-f', '-v', name], options, /no such container/i),
    })
    return name
  }

  /** `docker image rm -f NAME` (a tag or an id). */
  image(name: string, options: DockerRunOptions = {}): string {
    this.entries.push({
      kind: 'image',
      label: `image ${name}`,
      run: () => removeQuietly(['image', 'rm', '-f', name], options, /no such image/i),
    })
    return name
  }

  /** `rm -rf DIR`. */
  dir(dir: string): string {
    this.entries.push({kind: 'dir', label: `directory ${dir}`, run: () => rm(dir, {force: true, recursive: true})})
    return dir
  }

  /** Any other clean-up step. */
  add(label: string, run: () => Promise<void> | void): void {
    this.entries.push({kind: 'task', label, run: async () => run()})
  }

  /** A new temporary directory, removed at cleanup. */
  async tempDir(prefix = 'kudev-test-'): Promise<string> {
    return this.dir(await mkdtemp(path.join(tmpdir(), prefix)))
  }

  get size(): number {
    return this.entries.length
  }

  /** Runs and forgets every registered step; returns the messages of those that failed. */
  async run(): Promise<string[]> {
    const entries = this.entries
    this.entries = []
    const failures: string[] = []
    for (const kind of ORDER) {
      for (const entry of entries.filter((e) => e.kind === kind).reverse()) {
        try {
          await entry.run()
        } catch (error) {
          failures.push(`${entry.label}: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
    }

    for (const failure of failures) process.stderr.write(`cleanup failed: ${failure}\n`)
    return failures
  }
}

async function removeQuietly(args: string[], options: DockerRunOptions, alreadyGone: RegExp): Promise<void> {
  const result = await dockerResult(args, {timeout: 60_000, ...options})
  if (result.failed && !alreadyGone.test(result.stderr)) {
    throw new Error(`${result.command}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`)
  }
}

/**
 * The process-wide registry: its root-level `after` hook (registered when this module is first imported
 * by a test file) removes everything registered once all tests have run. Prefer suiteCleanup() for
 * things only one suite needs.
 */
export const cleanup = new CleanupRegistry()
if (typeof globalThis.after === 'function') {
  after(async function () {
    this.timeout(120_000)
    await cleanup.run()
  })
}

/** A registry for one suite: call inside `describe`; its `after` hook (60 s) removes everything registered. */
export function suiteCleanup(): CleanupRegistry {
  const registry = new CleanupRegistry()
  after(async function () {
    this.timeout(60_000)
    await registry.run()
  })
  return registry
}

/** A name unique to this process, for tags and container names: `${prefix}-${pid}-${n}`. */
let counter = 0
export function uniqueName(prefix: string): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}
