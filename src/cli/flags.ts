import {Flags} from '@oclif/core'

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
