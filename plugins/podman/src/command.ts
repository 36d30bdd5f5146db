import type {BuildOptions} from 'kudev'

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
 * Where `podman build` takes the context from: a tar on stdin, where `dockerfile` names the Dockerfile
 * inside the tar, or kudev's folder of the hashed entries (podman reads it in place), with the
 * Dockerfile's absolute path and an ignore file that excludes nothing.
 */
export interface ContextSource {
  dockerfile: string
  folder?: {root: string}
  /** kudev's ignore file, used instead of the context's own .containerignore or .dockerignore. */
  ignorefile: string
}

/**
 * The ignore file a folder build is given. Podman 4.3.1 reads an ignore file without patterns (empty, or
 * only comments) as none given, and then looks for one: beside a Dockerfile named by its absolute path
 * (`Dockerfile.dockerignore`, which kudev writes empty), else in the context, whose .containerignore or
 * .dockerignore are in kudev's folder hashed entries like any other, not rules. A file with a pattern is
 * used alone, whatever the podman; an exception is a pattern that excludes nothing.
 */
export const IGNORE_NOTHING =
  '# Written by kudev: the folder holds exactly the files kudev hashed. Podman reads a file without patterns\n' +
  "# as none and applies the folder's .containerignore or .dockerignore; an exception excludes nothing.\n" +
  '!*\n'

/**
 * An ignore file that excludes only `paths` (what a tar context carries for the builder alone). Patterns are
 * anchored at the context's root as in .dockerignore; podman 4.3.1 does not strip a leading `/`, so none is written.
 */
export function ignoreOnly(paths: readonly string[]): string {
  return `${IGNORE_NOTHING}${paths.map((entry) => `${entry}\n`).join('')}`
}

/**
 * The `podman build` arguments. `--ignorefile` keeps podman from applying the context's own ignore files,
 * which are entries like any other. From a tar on stdin (`-`), podman unpacks it before building, and `-f`
 * names the Dockerfile inside it. From a folder, no `-t` is given: the image is tagged only once kudev checked that nothing moved while
 * podman read the folder. `--format docker` keeps what the OCI format drops (HEALTHCHECK, SHELL), so a
 * Dockerfile means what it means to `docker build`. Build args and labels are sorted, so the same options
 * always give the same command line.
 */
export function buildCommand(source: ContextSource, options: BuildOptions, iidfile: string): string[] {
  const args = ['build', '--format', 'docker', '-f', source.dockerfile, '--ignorefile', source.ignorefile]
  if (!source.folder) args.push('-t', qualifiedName(imageRef(options)))
  args.push('--iidfile', iidfile)
  for (const name of Object.keys(options.buildArgs).sort())
    args.push('--build-arg', `${name}=${options.buildArgs[name]}`)
  if (options.target) args.push('--target', options.target)
  if (options.platform) args.push('--platform', options.platform)
  if (options.network) args.push('--network', options.network)
  if (options.noCache) args.push('--no-cache')
  // Every label kudev asks for, its digest label among them (the contract's rule).
  for (const name of Object.keys(options.labels).sort()) args.push('--label', `${name}=${options.labels[name]}`)
  args.push(source.folder?.root ?? '-')
  return args
}
