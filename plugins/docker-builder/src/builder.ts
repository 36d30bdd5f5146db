import type {
  BuildContext,
  Builder,
  BuildOptions,
  Diagnostic,
  ExecResult,
  ImageCli,
  ImageInfo,
  ImageRef,
  PluginToolkit,
} from 'kudev'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'

import {buildCommand, imageRef} from './command.js'
import {
  type BuilderMode,
  buildkitSetting,
  checkEngine,
  detectBuilderMode,
  DOCKER,
  type EngineInfo,
  ENGINE_TIMEOUT_MS,
  engineProblem,
  envNote,
  lastLine,
  majorVersion,
} from './engine.js'
import {BuildOutput} from './output.js'

export interface DockerBuilderOptions {
  /** Set over kudev's own environment for docker (PATH, DOCKER_HOST, DOCKER_CONTEXT, DOCKER_BUILDKIT); an undefined value unsets. */
  env?: NodeJS.ProcessEnv
  /** How long `docker version` may take before the daemon counts as not answering. */
  engineTimeoutMs?: number
  /** A classic build at least this long says, once per project, that BuildKit would send only what changed. */
  slowBuildMs?: number
}

const SLOW_BUILD_MS = 10_000

/** Builds with `docker build`, fed the exact context kudev hashed as a tar on stdin. */
export class DockerBuilder implements Builder {
  readonly name = 'docker'
  // Its images live in the Docker daemon, where loaders take them from directly.
  readonly dockerDaemon = true
  private readonly env: NodeJS.ProcessEnv
  private readonly engineTimeoutMs: number
  private readonly slowBuildMs: number
  private readonly imageCli: ImageCli
  private engine?: Promise<EngineInfo>
  private mode?: Promise<BuilderMode>

  constructor(
    private readonly toolkit: PluginToolkit,
    options: DockerBuilderOptions = {},
  ) {
    // Decisions (BuildKit or not, which daemon to name in errors) read the same variables docker sees.
    this.env = {...process.env, ...options.env}
    this.engineTimeoutMs = options.engineTimeoutMs ?? ENGINE_TIMEOUT_MS
    this.slowBuildMs = options.slowBuildMs ?? SLOW_BUILD_MS
    this.imageCli = {
      file: DOCKER,
      inspect: (ref) => this.inspect(ref),
      listDangling: ['image', 'ls', '--quiet', '--filter', 'dangling=true'],
      options: {env: this.env},
      reason: lastLine,
      removeImages: ['image', 'rm'],
      retag: (id, ref) => ['tag', id, ref],
      untag: (ref) => ['image', 'rm', '--force', ref],
    }
  }

  /** For `kudev doctor`: the CLI and engine versions, and which builder `docker build` runs. */
  async diagnose(): Promise<Diagnostic[]> {
    const engine = await this.toolkit.diagnostic('docker', async () => {
      const {client, server} = await this.engineInfo()
      return `CLI ${client}, engine ${server}${envNote(this.env)}`
    })
    if (!engine.ok) return [engine]
    return [
      engine,
      await this.toolkit.diagnostic('docker build', async () =>
        describeMode(await this.builderMode(), (await this.engineInfo()).client, this.toolkit, this.env),
      ),
    ]
  }

  /** `docker version`, and with CLI 23+ whether buildx is there: what inspect() and build() first wait for. */
  async prepare(): Promise<void> {
    await this.builderMode()
  }

  async build(context: BuildContext, options: BuildOptions, signal: AbortSignal): Promise<ImageRef> {
    const mode = await this.builderMode()
    const ref = imageRef(options)
    // Asked while the context folder syncs (synchronous work): what the tag named before, for dropBuildLeftovers.
    const asking = this.inspect(ref)
    asking.catch(() => {})
    const folder = mode === 'buildkit' ? await context.folder() : undefined
    const previous = await asking
    if (signal.aborted) throw this.toolkit.error('interrupted', `interrupted before building ${ref}`)
    this.toolkit.logger.debug(
      folder
        ? `build context: the folder ${folder.root} (BuildKit sends only what changed since its last build of it)`
        : `build context: a tar on stdin (${mode === 'buildkit' ? 'its folder is in use by another kudev run' : 'the classic builder'})`,
    )
    const scratch = await mkdtemp(path.join(tmpdir(), 'kudev-build-'))
    const iidfile = path.join(scratch, 'image-id')
    const output = new BuildOutput()
    const started = performance.now()
    const tar = folder ? undefined : context.tar()
    try {
      const source = folder ? {dockerfile: folder.dockerfile, folder: folder.root} : {dockerfile: context.dockerfile}
      const result = await this.toolkit.exec(DOCKER, buildCommand(source, options, iidfile, mode), {
        allowFailure: true,
        env: this.env,
        errorCode: 'build',
        input: tar,
        onLine(line) {
          // Not `onOutput?.(output.add(line))`: without a listener that would skip the parsing too.
          const shown = output.add(line)
          if (shown !== undefined) options.onOutput?.(shown)
        },
        signal,
      })
      if (output.notice) this.toolkit.logger.debug(`docker: ${output.notice}`)
      if (result.exitCode !== 0) throw this.buildFailed(output, result)
      const id = (await readFile(iidfile, 'utf8')).trim()
      if (folder) {
        await folder.verify()
        await this.toolkit.exec(DOCKER, ['tag', id, ref], {env: this.env, errorCode: 'build', signal})
      }

      if (mode === 'classic' && performance.now() - started >= this.slowBuildMs) await this.classicNotice(context.root)
      return {id, ref}
    } catch (error) {
      // Interrupted, failed, or the context changed while it was sent: whichever, the tag must not name this
      // build. `-t` tags only a build that succeeded, so this catches one that finished just as it was stopped.
      await this.toolkit.dropBuildLeftovers(this.imageCli, ref, options.labels, previous)
      throw error
    } finally {
      // An unfinished tar stream holds an open file until it is destroyed.
      tar?.destroy()
      await rm(scratch, {force: true, recursive: true})
    }
  }

  async inspect(ref: string): Promise<ImageInfo | undefined> {
    await this.engineInfo()
    const result = await this.toolkit.exec(DOCKER, ['image', 'inspect', '--format', '{{json .}}', ref], {
      allowFailure: true,
      env: this.env,
    })
    if (result.exitCode === 0) {
      const image = JSON.parse(result.stdout) as {Id: string; Config?: {Labels?: Record<string, string> | null}}
      return {id: image.Id, labels: image.Config?.Labels ?? {}}
    }

    // The daemon says "no such image" for a malformed name too (20.10): that one is not an absent image.
    if (/invalid reference format/i.test(result.stderr))
      throw this.toolkit.error('usage', `"${ref}" is not an image name Docker accepts (invalid reference format)`, {
        hint: 'an image name looks like name[:tag], lowercase, e.g. myapp:kudev-1a2b3c4d (docker image ls lists them)',
      })
    if (/no such image/i.test(result.stderr)) return undefined
    throw (
      engineProblem(this.toolkit, result.stderr, this.env) ??
      this.toolkit.error('engine', `docker image inspect ${ref} failed: ${lastLine(result.stderr)}`, {
        details: this.toolkit.lastLines(result.stderr).slice(-10),
      })
    )
  }

  async save(ref: string): Promise<Readable> {
    await this.engineInfo()
    return this.toolkit.execOutput(DOCKER, ['save', ref], {env: this.env, errorCode: 'engine'})
  }

  private engineInfo(): Promise<EngineInfo> {
    this.engine ??= checkEngine(this.toolkit, this.env, this.engineTimeoutMs)
    return this.engine
  }

  private builderMode(): Promise<BuilderMode> {
    this.mode ??= this.engineInfo().then(async (engine) => {
      const mode = await detectBuilderMode(this.toolkit, this.env, engine)
      this.toolkit.logger.debug(
        `docker CLI ${engine.client}, engine ${engine.server}: ${mode === 'buildkit' ? 'BuildKit' : 'classic builder'}`,
      )
      return mode
    })
    return this.mode
  }

  private async classicNotice(project: string): Promise<void> {
    if (!this.toolkit.firstTime(`docker builder: classic builds of ${project}`)) return
    const {client} = await this.engineInfo()
    this.toolkit.logger.info(`${CLASSIC_SENDS_ALL}: ${buildkitHow(majorVersion(client) >= 23)}`)
  }

  private buildFailed(output: BuildOutput, result: ExecResult): Error {
    const engine = engineProblem(this.toolkit, result.stderr, this.env)
    if (engine) return engine
    const {reason, step} = output.failure()
    const what = step ? `docker build failed at step "${shorten(step)}"` : 'docker build failed'
    return this.toolkit.error('build', reason ? `${what}: ${reason}` : `${what} with exit code ${result.exitCode}`, {
      data: {exitCode: result.exitCode, step},
      details: output.tail,
      hint: `${step ? 'fix that step; ' : ''}the lines above are the end of docker's output, and -v shows all of it`,
    })
  }
}

const CLASSIC_SENDS_ALL =
  'the classic builder is sent the whole build context on every build; BuildKit is sent only what changed since its last build of the project'

function buildkitHow(modern: boolean): string {
  return modern ? 'install buildx to build with BuildKit' : 'set DOCKER_BUILDKIT=1 to build with BuildKit'
}

/** Which builder runs, and what it means for rebuilds. */
function describeMode(
  mode: BuilderMode,
  client: string,
  toolkit: PluginToolkit,
  env: NodeJS.ProcessEnv,
): {summary: string; hint?: string} {
  const modern = majorVersion(client) >= 23
  if (mode === 'buildkit')
    return {summary: `BuildKit (${modern ? 'through buildx' : 'DOCKER_BUILDKIT=1'}): a rebuild sends only what changed`}

  let why = modern ? 'buildx is not installed' : `CLI ${client} without DOCKER_BUILDKIT=1`
  if (buildkitSetting(toolkit, env) === false) why = 'DOCKER_BUILDKIT=0'
  return {
    hint: `${CLASSIC_SENDS_ALL}: ${buildkitHow(modern)}`,
    summary: `the classic builder (${why})`,
  }
}

/** A RUN step can span a screen; the message keeps its start, the details show the rest. */
function shorten(step: string, max = 160): string {
  return step.length > max ? `${step.slice(0, max - 1)}…` : step
}
