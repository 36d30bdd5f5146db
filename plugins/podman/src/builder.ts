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
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'

import {
  buildCommand,
  type ContextSource,
  IGNORE_NOTHING,
  ignoreOnly,
  imageRef,
  INSTALL_HINT,
  PODMAN,
  qualifiedName,
} from './command.js'
import {BuildOutput} from './output.js'

/** Where podman would put its temporary files: $TMPDIR, else /var/tmp (on disk, unlike a /tmp that may live in memory). */
function podmanTempRoot(): string {
  return process.env.TMPDIR || (process.platform === 'win32' ? tmpdir() : '/var/tmp')
}

const INFO_FORMAT = '{{.Version.Version}}\t{{.Store.GraphDriverName}}\t{{.Store.GraphRoot}}'
/** Every podman command: only a missing podman is reported by exec itself, as an engine problem. */
const PODMAN_OPTIONS = {errorCode: 'engine', notFoundHint: INSTALL_HINT} as const

/**
 * Builds with `podman build`, from kudev's folder of the hashed entries, which podman reads in place; or,
 * when another kudev run holds that folder, from the context as a tar on stdin, which podman unpacks first.
 */
export class PodmanBuilder implements Builder {
  readonly name = 'podman'
  /** Images stay in podman's own store: loaders get them through save(), never from the Docker daemon. */
  readonly dockerDaemon = false
  private readonly imageCli: ImageCli = {
    file: PODMAN,
    inspect: (ref) => this.inspect(ref),
    listDangling: ['images', '--quiet', '--no-trunc', '--filter', 'dangling=true'],
    options: PODMAN_OPTIONS,
    reason: (stderr) => reasons(stderr).at(-1),
    removeImages: ['rmi'],
    retag: (id, ref) => ['tag', id, qualifiedName(ref)],
    untag: (ref) => ['untag', qualifiedName(ref), qualifiedName(ref)],
  }

  constructor(private readonly toolkit: PluginToolkit) {}

  async diagnose(): Promise<Diagnostic[]> {
    return [
      await this.toolkit.diagnostic('podman', async () => {
        const result = await this.podman(['info', '--format', INFO_FORMAT])
        if (result.exitCode !== 0) throw this.failed(result, 'read `podman info`')
        const [version, driver, root] = result.stdout.trim().split('\t')
        return `podman ${version}, ${driver} storage at ${root}; images reach clusters through podman save`
      }),
    ]
  }

  async build(context: BuildContext, options: BuildOptions, signal: AbortSignal): Promise<ImageRef> {
    const ref = imageRef(options)
    // Asked while the context folder syncs (synchronous work): what the tag named before, for dropBuildLeftovers.
    const asking = this.inspect(ref)
    asking.catch(() => {})
    const folder = await context.folder()
    const previous = await asking
    if (signal.aborted) throw this.toolkit.error('interrupted', `interrupted before building ${ref}`)
    this.toolkit.logger.debug(
      folder
        ? `build context: the folder ${folder.root} (podman reads it in place instead of unpacking a tar of it first)`
        : 'build context: a tar on stdin (its folder is in use by another kudev run)',
    )
    const scratch = await mkdtemp(path.join(podmanTempRoot(), 'kudev-podman-'))
    const iidfile = path.join(scratch, 'image-id')
    const output = new BuildOutput()
    const tar = folder ? undefined : context.tar()
    try {
      // An ignore file of kudev's either way: podman would apply the context's .containerignore, which kudev
      // does not hash by. From the tar it excludes only what the tar carries for the builder alone.
      const ignorefile = path.join(scratch, 'ignore')
      await writeFile(ignorefile, folder ? IGNORE_NOTHING : ignoreOnly(context.hiddenInTar))
      const source: ContextSource = folder
        ? {dockerfile: folder.dockerfile, folder: {root: folder.root}, ignorefile}
        : {dockerfile: context.dockerfile, ignorefile}

      // From the tar, podman unpacks all of stdin before it builds, and kudev kills it before the tar ends
      // when a file changes while it is sent. From the folder, the build is untagged until verify() passed.
      // Either way no tag names content other than what was hashed.
      const result = await this.toolkit.exec(PODMAN, buildCommand(source, options, iidfile), {
        allowFailure: true,
        // Podman unpacks the context and runs steps in TMPDIR and leaves them there when it is stopped: the scratch folder goes in any case.
        env: {TMPDIR: scratch},
        // Failed builds are reported below.
        ...PODMAN_OPTIONS,
        input: tar,
        onLine(line) {
          output.add(line)
          options.onOutput?.(line)
        },
        signal,
      })
      if (result.exitCode !== 0) throw this.buildFailed(output, result)
      const id = (await readFile(iidfile, 'utf8')).trim()
      if (folder) {
        await folder.verify()
        const tagged = await this.toolkit.exec(PODMAN, ['tag', id, qualifiedName(ref)], {
          ...PODMAN_OPTIONS,
          allowFailure: true,
          signal,
        })
        if (tagged.exitCode !== 0) throw this.failed(tagged, `tag the image ${ref}`)
      }

      return {id, ref}
    } catch (error) {
      // Interrupted, failed, or the context changed while podman read it: whichever, the tag must not name this
      // build. A folder build is tagged only after verify(), a tar build once podman read all of the tar: this
      // catches one that finished just as it was stopped.
      await this.toolkit.dropBuildLeftovers(this.imageCli, ref, options.labels, previous)
      throw error
    } finally {
      // An unfinished tar stream holds an open file until it is destroyed.
      tar?.destroy()
      await this.removeLeftovers(scratch)
      await rm(scratch, {force: true, recursive: true})
    }
  }

  async inspect(ref: string): Promise<ImageInfo | undefined> {
    const name = qualifiedName(ref)
    // `podman image exists` answers 1 for "no such image" and 125 when podman itself fails.
    const exists = await this.podman(['image', 'exists', name])
    if (exists.exitCode === 1) return undefined
    if (exists.exitCode !== 0) throw this.failed(exists, `ask podman for ${ref}`)
    const result = await this.podman(['image', 'inspect', name])
    if (result.exitCode !== 0) throw this.failed(result, `inspect ${ref}`)
    const [image] = JSON.parse(result.stdout) as {Id: string; Labels?: Record<string, string> | null}[]
    // Podman prints the bare config digest; Docker, containerd and kudev's loaders write it sha256:….
    return image === undefined ? undefined : {id: `sha256:${image.Id}`, labels: image.Labels ?? {}}
  }

  async save(ref: string): Promise<Readable> {
    return this.toolkit.execOutput(PODMAN, ['save', '--format', 'docker-archive', qualifiedName(ref)], PODMAN_OPTIONS)
  }

  /**
   * A podman stopped mid-build (Ctrl-C) leaves its RUN step running and that step's working container,
   * still mounted, in its storage (podman#14523). Both are known from the step's runtime bundle, which
   * podman left in TMPDIR, that is `scratch`: `pid` holds the step's process, and `run/.containerenv`
   * names the working container. A build that ends by itself leaves no bundle. Stopped outside a RUN step
   * (in a COPY, a commit), podman leaves no bundle to tell its container by: `podman ps --external` lists it.
   */
  private async removeLeftovers(scratch: string): Promise<void> {
    for (const bundle of await readdir(scratch)) {
      const containerenv = await readFile(path.join(scratch, bundle, 'run', '.containerenv'), 'utf8').catch(() => '')
      const id = /^id="([0-9a-f]+)"$/m.exec(containerenv)?.[1]
      if (id === undefined) continue
      const pid = Number(await readFile(path.join(scratch, bundle, 'pid'), 'utf8').catch(() => ''))
      // The step runs in a cgroup named after its bundle: proof that the pid still is that process.
      const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')
      if (pid > 0 && cgroup.includes(bundle)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // It ended meanwhile.
        }
      }

      const removed = await this.podman(['rm', '--force', id])
      if (removed.exitCode === 0)
        this.toolkit.logger.debug(`removed podman's working container ${id.slice(0, 12)}, left by the stopped build`)
      else
        this.toolkit.logger.warn(
          `podman left the working container ${id.slice(0, 12)} of the stopped build, and could not remove it: ${reasons(removed.stderr).at(-1)}; podman rm --force ${id.slice(0, 12)} removes it`,
        )
    }
  }

  private podman(args: string[]): Promise<ExecResult> {
    return this.toolkit.exec(PODMAN, args, {...PODMAN_OPTIONS, allowFailure: true})
  }

  private failed(result: ExecResult, doing: string): Error {
    const lines = reasons(result.stderr)
    return this.toolkit.error(
      'engine',
      `could not ${doing}: ${lines.at(-1) ?? `${result.command} exited with code ${result.exitCode}`}`,
      {
        details: lines.slice(-10, -1),
        hint: 'check that `podman info` works in this shell; rerun with -v to see every command kudev runs',
      },
    )
  }

  private buildFailed(output: BuildOutput, result: ExecResult): Error {
    const {reason, step} = output.failure()
    const what = step ? `podman build failed at step "${step}"` : 'podman build failed'
    return this.toolkit.error('build', reason ? `${what}: ${reason}` : `${what} with exit code ${result.exitCode}`, {
      data: {exitCode: result.exitCode, step},
      details: output.tail,
      hint: `${step ? 'fix that step; ' : ''}the lines above are the end of podman's output, and -v shows all of it`,
    })
  }
}

/** Podman's stderr lines, without the `Error: ` it starts its own message with. */
function reasons(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim().replace(/^Error: /, ''))
    .filter(Boolean)
}
