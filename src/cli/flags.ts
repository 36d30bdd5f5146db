import {Flags} from '@oclif/core'

import {checkFlag, checkNetwork, checkPlatform, checkTarget} from '../config/rules.js'
import {parseBuildArgs} from '../hash/build-args.js'
import {LOG_LEVELS} from '../output/logger.js'

const GLOBAL = 'GLOBAL'

/** Output flags every kudev command takes (with --json, added by oclif's enableJsonFlag). */
export const outputFlags = {
  'log-level': Flags.option({
    description: 'How much to log on stderr. Also KUDEV_LOG_LEVEL.',
    helpGroup: GLOBAL,
    options: LOG_LEVELS,
  })(),
  quiet: Flags.boolean({
    char: 'q',
    description: 'Log errors only.',
    exclusive: ['verbose'],
    helpGroup: GLOBAL,
  }),
  verbose: Flags.boolean({
    char: 'v',
    description: 'Log everything, including every subprocess command line and plugin failures in detail.',
    exclusive: ['quiet'],
    helpGroup: GLOBAL,
  }),
}

export const configFlags = {
  config: Flags.string({
    description: 'Use this .kudev.yaml instead of searching upward from the working folder.',
    exclusive: ['dir'],
    helpValue: 'FILE',
  }),
  dir: Flags.string({
    char: 'C',
    description: 'Run as if started in DIR: search for .kudev.yaml from there.',
    helpValue: 'DIR',
  }),
}

export const kubeContextFlag = {
  'kube-context': Flags.string({
    description: 'Kube context to use (overrides spec.kubeContext and the current context).',
    helpValue: 'NAME',
  }),
}

/** How the image reaches the cluster: shared by `kudev load` and `kudev up`. */
export const loadFlags = {
  'full-load': Flags.boolean({
    description:
      "Send every node the whole image, as the cluster's own CLI does (kind load, …), instead of only the layers it lacks.",
  }),
  loader: Flags.string({description: 'Loader to use (overrides spec.loader and detection).', helpValue: 'NAME'}),
  registry: Flags.string({
    description:
      'Push the image to this registry, which the cluster pulls from, instead of loading it into the nodes (overrides spec.registry).',
    helpValue: 'HOST[/PATH]',
  }),
}

/** The parsed values of kubeContextFlag and loadFlags, as a load takes them (`kudev load`, `kudev up`). */
export function loadOptions(flags: {
  'full-load'?: boolean
  'kube-context'?: string
  loader?: string
  registry?: string
}) {
  return {
    fullLoad: flags['full-load'],
    kubeContext: flags['kube-context'],
    loader: flags.loader,
    registry: flags.registry,
  }
}

/** `kudev up --watch`, `kudev build --watch`. */
export const watchFlags = {
  poll: Flags.integer({
    dependsOn: ['watch'],
    description:
      'With --watch: use no file watcher; check every path every MS milliseconds instead (file systems that do not report changes, such as some network and VM shares).',
    helpValue: 'MS',
    min: 100,
  }),
  'quiet-period': Flags.integer({
    dependsOn: ['watch'],
    description: 'With --watch: milliseconds without a new change before a cycle starts.',
    helpValue: 'MS',
    min: 0,
  }),
  watch: Flags.boolean({
    description:
      'Stay running: after the first cycle, build (and load) again on every change the tag covers. With --json, one JSON object per cycle and line.',
  }),
}

/** What goes into the hash besides the files: shared by `kudev hash`, `kudev build` and `kudev up`. */
export const buildInputFlags = {
  'build-arg': Flags.string({
    description:
      'Build argument NAME=VALUE (repeatable; overrides spec.buildArgs). NAME alone takes the value from the environment.',
    helpValue: 'NAME=VALUE',
    multiple: true,
  }),
  'build-timestamp': Flags.boolean({
    description: 'Tag kudev-<hash>-<YYYYMMDD-HHMMSS> (UTC), so every build gets a new tag.',
  }),
  platform: Flags.string({
    description: 'Platform to build for, os/arch[/variant] (overrides spec.platform).',
    helpValue: 'PLATFORM',
  }),
  target: Flags.string({description: 'Dockerfile stage to build (overrides spec.target).', helpValue: 'STAGE'}),
}

export const buildFlags = {
  ...buildInputFlags,
  builder: Flags.string({description: 'Builder to use (overrides spec.builder; default docker).', helpValue: 'NAME'}),
  'force-build': Flags.boolean({description: 'Build even when the image is up to date.'}),
  network: Flags.string({
    description: 'Network for RUN steps (docker build --network; overrides spec.network).',
    helpValue: 'MODE',
  }),
  'no-cache': Flags.boolean({
    description:
      "Build without the builder's layer cache, and hash without kudev's tree snapshot (every file is read).",
  }),
}

/** The parsed values of buildInputFlags, as hashing takes them. */
export function buildInputs(flags: {
  'build-arg'?: string[]
  'build-timestamp'?: boolean
  platform?: string
  target?: string
}) {
  return {
    buildArgs: parseBuildArgs(flags['build-arg'] ?? []),
    buildTimestamp: flags['build-timestamp'] ? new Date() : undefined,
    platform: checkFlag('--platform', flags.platform, checkPlatform, 'linux/amd64'),
    target: checkFlag('--target', flags.target, checkTarget, 'build'),
  }
}

/** The parsed values of buildFlags, as a build takes them (`kudev build`, `kudev up`). */
export function buildOptions(
  flags: Parameters<typeof buildInputs>[0] & {
    builder?: string
    'force-build'?: boolean
    network?: string
    'no-cache'?: boolean
  },
) {
  return {
    ...buildInputs(flags),
    builder: flags.builder,
    forceBuild: flags['force-build'],
    network: checkFlag('--network', flags.network, checkNetwork, 'none'),
    noCache: flags['no-cache'],
  }
}
