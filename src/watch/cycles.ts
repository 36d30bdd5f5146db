/**
 * `kudev up --watch` and `kudev build --watch`: the watch loop running the one-shot pipelines, one result
 * per cycle (a line, or with --json one JSON object per line) and a failed cycle's error, then watching on.
 */
import type {ProjectConfig} from '../config/index.js'
import type {KudevError} from '../output/errors.js'
import {errorJson} from '../output/report.js'
import type {Logger} from '../output/logger.js'
import type {BuildRequest, BuildResult} from '../pipeline/build.js'
import type {UpRequest, UpResult} from '../pipeline/up.js'
import {type CycleInput, type CycleOutput, watchLoop} from './loop.js'

export interface WatchRequest {
  /** Reads .kudev.yaml: at the start, and again when it changed. */
  loadProject(): Promise<ProjectConfig>
  logger: Logger
  quietMs: number
  /** --poll: no file watcher; every path is checked this often. */
  pollMs?: number
  json: boolean
  /** What a cycle prints: its line, or its JSON (one line). */
  print(text: string): void
  /** How a failed cycle's error is shown on stderr (the command's own rendering). */
  render(error: KudevError): string
}

/** `kudev up --watch`: build and load on every change, until Ctrl-C. */
export async function watchUp(
  watch: WatchRequest,
  request: Omit<UpRequest, 'project'>,
  signal: AbortSignal,
): Promise<never> {
  const {up} = await import('../pipeline/up.js')
  return run(watch, signal, async (input) => {
    const result = await up(cycleRequest(request, input), input.signal)
    return {digest: result.digest, line: upLine(result), report: {...result}}
  })
}

/** `kudev build --watch`: build on every change, until Ctrl-C. */
export async function watchBuild(
  watch: WatchRequest,
  request: Omit<BuildRequest, 'project'>,
  signal: AbortSignal,
): Promise<never> {
  const {buildImage} = await import('../pipeline/build.js')
  const {chooseBuilder} = await import('../pipeline/choose.js')
  return run(watch, signal, async (input) => {
    const cycle = cycleRequest(request, input)
    const result = await buildImage(cycle, await chooseBuilder(cycle), input.signal)
    input.built()
    const {hashMs, ...rest} = result
    return {
      digest: result.digest,
      line: buildLine(result),
      report: {...rest, durationsMs: {build: result.durationMs, hash: hashMs}},
    }
  })
}

async function run(
  watch: WatchRequest,
  signal: AbortSignal,
  runCycle: (input: CycleInput) => Promise<CycleOutput>,
): Promise<never> {
  const {loadContextFilter} = await import('../context/filter.js')
  return watchLoop(
    {
      emit: ({line, report}) =>
        watch.print(watch.json ? JSON.stringify(report) : `${clock()} ${line}${changedNote(report)}`),
      failed(error, report) {
        if (watch.json) watch.print(JSON.stringify({...report, ...errorJson(error)}))
        process.stderr.write(watch.render(error))
        watch.logger.info('watching for the next change')
      },
      loadFilter: (project) =>
        loadContextFilter({
          configFile: project.file,
          contextDir: project.buildContext,
          dockerfile: project.dockerfile,
          exclusions: project.config.spec.buildContextExclusions,
        }),
      loadProject: watch.loadProject,
      logger: watch.logger,
      pollMs: watch.pollMs,
      quietMs: watch.quietMs,
      runCycle,
    },
    signal,
  )
}

/** One cycle's request: the project as read now, and what the watch knows of the last cycle. */
function cycleRequest<R extends Omit<BuildRequest, 'project'>>(
  request: R,
  input: CycleInput,
): R & BuildRequest & Pick<UpRequest, 'onBuilt'> {
  return {
    ...request,
    changes: input.changes,
    onBuilt: () => input.built(),
    onHashed: (hash) => input.hashed(hash),
    project: input.project,
    settled: () => input.settled(),
    unchangedSince: input.unchangedSince,
  }
}

function upLine(result: UpResult): string {
  const {build, hash, load} = result.durationsMs
  const ref = result.clusterRef ?? result.image
  if (!result.built && !result.loaded) return `${ref} up to date and in ${result.context} (hash ${ms(hash)})`
  const built = result.built ? `built in ${seconds(build)} (hash ${ms(hash)})` : `up to date (hash ${ms(hash)})`
  const loaded = result.loaded ? `loaded into ${result.context} in ${seconds(load)}` : `already in ${result.context}`
  return `${ref} ${built}, ${loaded}`
}

function buildLine(result: BuildResult): string {
  const what = result.built ? `built in ${seconds(result.durationMs)}` : 'up to date'
  return `${result.image} ${what} (hash ${ms(result.hashMs)})`
}

function changedNote(report: Record<string, unknown>): string {
  const changed = report.changed as {paths: string[]; count: number} | undefined
  if (changed === undefined || changed.count === 0) return ''
  const more = changed.count > 1 ? ` and ${changed.count - 1} more` : ''
  return ` · ${changed.paths[0]}${more}`
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8)
}

function seconds(value: number): string {
  return `${(value / 1000).toFixed(1)}s`
}

function ms(value: number): string {
  return `${value} ms`
}
