import type {BuildOptions} from 'kudev'

import type {BuilderMode} from './engine.js'

export function imageRef(options: Pick<BuildOptions, 'imageName' | 'tag'>): string {
  return `${options.imageName}:${options.tag}`
}

/**
 * Where `docker build` takes the context from: a tar on stdin, where `dockerfile` names the Dockerfile
 * inside the tar, or a folder (BuildKit syncs it incrementally), with the Dockerfile's absolute path.
 */
export interface ContextSource {
  dockerfile: string
  folder?: string
}

/**
 * The `docker build` arguments. Build args and labels are sorted, so the same options always give the same
 * command. Values travel as separate arguments (never through a shell), so spaces and `=` need no escaping.
 * A folder build gets no `-t`: it is tagged only once kudev checked nothing moved while BuildKit read it.
 */
export function buildCommand(
  source: ContextSource,
  options: BuildOptions,
  iidfile: string,
  mode: BuilderMode,
): string[] {
  const args = ['build', '-f', source.dockerfile]
  if (source.folder === undefined) args.push('-t', imageRef(options))
  args.push('--iidfile', iidfile)
  // BuildKit's plain progress is the line format output.ts reads (it would pick a TTY view on a terminal).
  // The classic builder keeps a failed RUN step's container unless told otherwise.
  args.push(mode === 'buildkit' ? '--progress=plain' : '--force-rm')
  for (const name of sortedKeys(options.buildArgs)) args.push('--build-arg', `${name}=${options.buildArgs[name]}`)
  if (options.target) args.push('--target', options.target)
  if (options.platform) args.push('--platform', options.platform)
  if (options.network) args.push('--network', options.network)
  if (options.noCache) args.push('--no-cache')
  // Every label kudev asks for, its digest label among them (the contract's rule).
  for (const name of sortedKeys(options.labels)) args.push('--label', `${name}=${options.labels[name]}`)
  args.push(source.folder ?? '-')
  return args
}

function sortedKeys(record: Record<string, string>): string[] {
  return Object.keys(record).sort()
}
