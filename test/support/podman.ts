/**
 * Helpers for integration tests that need podman (Debian's `podman` package; root runs it here). Podman
 * keeps images in its own store, not Docker's: tests remove what they put there through `cleanup.add`.
 *
 *   before(async function () { await requirePodman(this) })
 *   cleanup.add('podman image x', () => removePodmanImage('docker.io/library/x:1'))
 */
import {execa} from 'execa'

import {dockerCli, isCI} from './docker.js'

export interface PodmanResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs podman without throwing on a non-zero exit. */
export async function podmanResult(
  args: readonly string[],
  options: {input?: string | Uint8Array; timeout?: number} = {},
): Promise<PodmanResult> {
  const result = await execa('podman', [...args], {
    input: options.input,
    reject: false,
    timeout: options.timeout ?? 120_000,
  })
  return {exitCode: result.exitCode ?? -1, stderr: String(result.stderr), stdout: String(result.stdout)}
}

/** Runs podman and returns its stdout; throws with stderr on failure. */
export async function podman(args: readonly string[], options: {input?: string | Uint8Array} = {}): Promise<string> {
  const result = await podmanResult(args, options)
  if (result.exitCode !== 0)
    throw new Error(`podman ${args.join(' ')} exited with ${result.exitCode}: ${result.stderr.trim()}`)
  return result.stdout
}

let versionCheck: Promise<PodmanResult> | undefined

/**
 * Returns when `podman version` answers. Otherwise: in CI (where scripts/ensure-docker.sh installs the
 * podman package) throws, so a missing podman fails the run instead of silently skipping; locally, skips.
 */
export async function requirePodman(ctx: Mocha.Context): Promise<void> {
  versionCheck ??= podmanResult(['version', '--format', '{{.Client.Version}}'], {timeout: 30_000}).catch(
    (error: Error) => ({exitCode: -1, stderr: error.message, stdout: ''}),
  )
  const result = await versionCheck
  if (result.exitCode === 0) return
  if (isCI()) {
    throw new Error(
      `podman is required in CI, but \`podman version\` failed: ${result.stderr.trim().split('\n')[0]}\n` +
        'scripts/ensure-docker.sh installs it as root (apt-get install podman); .ci/run runs that script before `npm test`.',
    )
  }

  ctx.skip()
}

/** `podman rmi` of one name, quiet when it is already gone. */
export async function removePodmanImage(name: string): Promise<void> {
  const result = await podmanResult(['rmi', name])
  if (result.exitCode !== 0 && !/image not known/.test(result.stderr))
    throw new Error(`podman rmi ${name}: ${result.stderr.trim()}`)
}

export async function podmanImageExists(name: string): Promise<boolean> {
  return (await podmanResult(['image', 'exists', name])).exitCode === 0
}

/**
 * Copies an image from Docker's store into podman's (`docker save | podman load`), where podman names it
 * `localhost/<name>` and `FROM <name>` finds it. Kept afterwards, like the Docker copy: a shared base.
 */
export async function copyToPodman(image: string): Promise<void> {
  if (await podmanImageExists(`localhost/${image}`)) return
  const {stdout} = await execa(dockerCli(), ['save', image], {encoding: 'buffer', timeout: 120_000})
  await podman(['load'], {input: stdout})
}

/** IDs of podman's untagged images: a failed or repeated build leaves its step images behind as cache. */
export async function danglingPodmanImages(): Promise<string[]> {
  return (await podman(['images', '--filter', 'dangling=true', '--quiet', '--no-trunc'])).split('\n').filter(Boolean)
}

/** Removes the untagged images that are not in `before` (what the tests since then left as cache). */
export async function removeNewDanglingImages(before: readonly string[]): Promise<void> {
  const known = new Set(before)
  for (const id of await danglingPodmanImages()) if (!known.has(id)) await removePodmanImage(id)
}
