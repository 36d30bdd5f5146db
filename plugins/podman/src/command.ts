import type {BuildContext, BuildOptions} from 'kudev'

export const PODMAN = 'podman'

export const INSTALL_HINT =
  'install podman (Debian, Ubuntu: sudo apt-get install podman; others: https://podman.io/docs/installation), and make sure `podman` is on PATH'

/** `<imageName>:<tag>`, the name users and clusters know the image by. */
export function imageRef(options: Pick<BuildOptions, 'imageName' | 'tag'>): string {
  return `${options.imageName}:${options.tag}`
}

/**
 * The name podman stores the image under. Podman files a name without a registry as `localhost/…`, and
 * `podman save` writes that name into the archive, so a cluster would know the image as
 * `localhost/app:tag`. Docker and CRI read `app:tag` as `docker.io/library/app:tag`: naming it so in
 * podman makes the saved archive carry the name a pod spec's `app:tag` resolves to.
 */
export function qualifiedName(ref: string): string {
  const slash = ref.indexOf('/')
  const first = slash === -1 ? '' : ref.slice(0, slash)
  if (first.includes('.') || first.includes(':') || first === 'localhost') return ref
  return slash === -1 ? `docker.io/library/${ref}` : `docker.io/${ref}`
}

/**
 * The `podman build` arguments. The context is the tar kudev hashed, on stdin (`-`): podman unpacks it
 * before building, and `-f` names the Dockerfile inside it. `--format docker` keeps what the OCI format
 * drops (HEALTHCHECK, SHELL), so a Dockerfile means what it means to `docker build`. Build args and labels
 * are sorted, so the same options always give the same command line.
 */
export function buildCommand(
  context: Pick<BuildContext, 'dockerfile'>,
  options: BuildOptions,
  iidfile: string,
): string[] {
  const args = [
    'build',
    '--format',
    'docker',
    '-f',
    context.dockerfile,
    '-t',
    qualifiedName(imageRef(options)),
    '--iidfile',
    iidfile,
  ]
  for (const name of Object.keys(options.buildArgs).sort())
    args.push('--build-arg', `${name}=${options.buildArgs[name]}`)
  if (options.target) args.push('--target', options.target)
  if (options.platform) args.push('--platform', options.platform)
  if (options.network) args.push('--network', options.network)
  if (options.noCache) args.push('--no-cache')
  // Every label kudev asks for, its digest label among them (the contract's rule).
  for (const name of Object.keys(options.labels).sort()) args.push('--label', `${name}=${options.labels[name]}`)
  args.push('-')
  return args
}
