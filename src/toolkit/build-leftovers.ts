/**
 * What a failed or stopped build leaves in the builder's image store, removed through the builder's CLI
 * (docker, podman): a tag that names other content than the build's, and images it made but never tagged.
 */
import type {ExecResult} from '../exec/run.js'
import type {BaseToolkit, ImageCli, ImageInfo} from '../plugins/contract.js'

/**
 * Puts the tag `ref` back on `previous` when that image carries every one of `labels` (kudev's digest label
 * among them: it is this build's content), else removes the tag; then removes the untagged images that
 * carry `labels`. Failures are logged: the build's own error is what the user needs to see.
 */
export async function dropBuildLeftovers(
  toolkit: BaseToolkit,
  cli: ImageCli,
  ref: string,
  labels: Record<string, string>,
  previous: ImageInfo | undefined,
): Promise<void> {
  const previousGood =
    previous !== undefined && Object.entries(labels).every(([name, value]) => previous.labels[name] === value)
  await dropLeftoverTag(toolkit, cli, ref, previousGood ? previous : undefined)
  await dropUntagged(toolkit, cli, labels)
}

/** Puts the tag back on `good` (what it named before, of this build's content), or removes it when there is none. */
async function dropLeftoverTag(
  toolkit: BaseToolkit,
  cli: ImageCli,
  ref: string,
  good: ImageInfo | undefined,
): Promise<void> {
  const current = await cli.inspect(ref).catch(() => undefined)
  if (current === undefined || current.id === good?.id) return
  const result = await run(toolkit, cli, good ? cli.retag(good.id, ref) : cli.untag(ref))
  if (result.exitCode !== 0)
    toolkit.logger.warn(`could not ${good ? 'restore' : 'remove'} the tag ${ref}: ${reason(cli, result)}`)
}

/** Nobody can name such an image, and it can hold hundreds of MB. Images in use stay: removal is not forced. */
async function dropUntagged(toolkit: BaseToolkit, cli: ImageCli, labels: Record<string, string>): Promise<void> {
  const filters = Object.entries(labels).flatMap(([name, value]) => ['--filter', `label=${name}=${value}`])
  const listed = await run(toolkit, cli, [...cli.listDangling, ...filters])
  const ids = [...new Set(listed.stdout.split('\n').filter(Boolean))]
  if (listed.exitCode !== 0 || ids.length === 0) return
  const removed = await run(toolkit, cli, [...cli.removeImages, ...ids])
  if (removed.exitCode !== 0)
    toolkit.logger.debug(`could not remove the untagged image ${ids.join(', ')}: ${reason(cli, removed)}`)
}

function run(toolkit: BaseToolkit, cli: ImageCli, args: readonly string[]): Promise<ExecResult> {
  return toolkit.exec(cli.file, args, {...cli.options, allowFailure: true})
}

function reason(cli: ImageCli, result: ExecResult): string {
  return cli.reason(result.stderr) ?? `${result.command} exited with code ${result.exitCode}`
}
