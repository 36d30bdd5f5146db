import type {Config} from '@oclif/core'

import {KudevError} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import {closest} from '../util/suggest.js'
import type {BuilderDescriptor, LoaderDescriptor, RegistrationEvent, RegistrationOptions} from './contract.js'
import {BUILDERS_EVENT, LOADERS_EVENT, SUPPORTED_API_VERSIONS} from './contract.js'
import {checkDescriptor} from './descriptor.js'
import {bundledOverrides, overrideNotice} from './overrides.js'

export const DEFAULT_HOOK_TIMEOUT_MS = 5000

export interface PluginOrigin {
  /** npm package name of the plugin. */
  name: string
  /** oclif's plugin type: core (bundled), user (installed), link (linked for development). */
  type: string
}

export interface Registration<D> {
  descriptor: D
  plugin: PluginOrigin
}

export interface RegistrationFailure {
  plugin: PluginOrigin
  /** One line for users. */
  message: string
  /** Stack or extra lines, shown with --verbose. */
  debug?: string
}

export interface Registry<D> {
  role: 'builder' | 'loader'
  /** Sorted by name, then plugin: the same order on every run whatever order hooks finish in. */
  entries: Registration<D>[]
  failures: RegistrationFailure[]
}

export interface CollectOptions {
  logger: Logger
  timeoutMs?: number
}

const EVENT_ROLE = {[BUILDERS_EVENT]: 'builder', [LOADERS_EVENT]: 'loader'} as const

/** oclif Configs whose bundled-plugin overrides were already announced: once per process, however often plugins are collected. */
const announced = new WeakSet<Config>()

/** Hook timeout: KUDEV_HOOK_TIMEOUT_MS when it is a positive integer, else 5 s. */
export function hookTimeout(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.KUDEV_HOOK_TIMEOUT_MS)
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_HOOK_TIMEOUT_MS
}

export async function collectBuilders(oclif: Config, options: CollectOptions): Promise<Registry<BuilderDescriptor>> {
  return collect<BuilderDescriptor>(oclif, BUILDERS_EVENT, options)
}

export async function collectLoaders(oclif: Config, options: CollectOptions): Promise<Registry<LoaderDescriptor>> {
  return collect<LoaderDescriptor>(oclif, LOADERS_EVENT, options)
}

/**
 * Asks every plugin for its descriptors. A plugin that throws, hangs or answers nonsense is reported and
 * left out; the others stay usable. Runs only when a command needs plugins, never at startup.
 */
async function collect<D extends BuilderDescriptor | LoaderDescriptor>(
  oclif: Config,
  event: RegistrationEvent,
  {logger, timeoutMs = hookTimeout()}: CollectOptions,
): Promise<Registry<D>> {
  const role = EVENT_ROLE[event]
  if (!announced.has(oclif)) {
    announced.add(oclif)
    for (const override of bundledOverrides(oclif)) logger.warn(overrideNotice(override))
  }

  const options: RegistrationOptions = {apiVersions: SUPPORTED_API_VERSIONS, kudevVersion: oclif.version}
  const result = await oclif.runHook(event, options, timeoutMs, true)
  const registry: Registry<D> = {entries: [], failures: [], role}

  for (const {error, plugin} of result.failures) {
    const origin = originOf(plugin)
    const timedOut = /^Timed out after \d+ ms\.$/.test(error.message)
    registry.failures.push({
      debug: timedOut ? undefined : error.stack,
      message: timedOut
        ? `plugin ${origin.name} did not answer ${event} within ${timeoutMs} ms (KUDEV_HOOK_TIMEOUT_MS)`
        : `plugin ${origin.name} failed in its ${event} hook: ${firstLine(error.message)}`,
      plugin: origin,
    })
  }

  for (const {plugin, result: answer} of result.successes) {
    const origin = originOf(plugin)
    for (const candidate of Array.isArray(answer) ? answer : [answer]) {
      const problem = checkDescriptor(candidate, role)
      if (problem)
        registry.failures.push({
          message: `plugin ${origin.name} registered a ${role} that kudev cannot use: ${problem}`,
          plugin: origin,
        })
      else registry.entries.push({descriptor: candidate as D, plugin: origin})
    }
  }

  registry.entries.sort(
    (a, b) => compare(a.descriptor.name, b.descriptor.name) || compare(a.plugin.name, b.plugin.name),
  )
  registry.failures.sort((a, b) => compare(a.plugin.name, b.plugin.name) || compare(a.message, b.message))
  for (const failure of registry.failures) {
    logger.warn(`${failure.message} (skipped)`)
    if (failure.debug) logger.debug(failure.debug)
  }

  return registry
}

/**
 * The registration a user asked for by name. `source` says where the name came from (`--builder`,
 * `spec.builder in /x/.kudev.yaml`) so the error can point there.
 */
export function pickByName<D extends {name: string}>(
  registry: Registry<D>,
  name: string,
  source: string,
): Registration<D> {
  const matches = registry.entries.filter((entry) => entry.descriptor.name === name)
  if (matches.length === 1) return matches[0]!
  const {role} = registry
  if (matches.length > 1) {
    const packages = matches.map((entry) => `${entry.plugin.name} (${entry.plugin.type})`).join(' and ')
    throw new KudevError('plugin', `${role} "${name}" is registered by more than one plugin: ${packages}`, {
      hint: `uninstall one of them (kudev plugins uninstall NAME) so the name "${name}" means one ${role}`,
    })
  }

  const available = [...new Set(registry.entries.map((entry) => entry.descriptor.name))]
  const suggestion = closest(name, available)
  const failed = registry.failures.map((failure) => failure.plugin.name)
  throw new KudevError('plugin', `no ${role} named "${name}" (from ${source})`, {
    details:
      failed.length > 0 ? [`plugins that failed to register: ${[...new Set(failed)].join(', ')} (see --verbose)`] : [],
    hint: [
      suggestion ? `did you mean "${suggestion}"?` : undefined,
      available.length > 0 ? `available ${role}s: ${available.join(', ')}` : `no ${role}s are registered`,
      `install one with: kudev plugins install NAME`,
    ]
      .filter(Boolean)
      .join('; '),
  })
}

/** Registered names that more than one plugin claims, with the plugins claiming each. */
export function conflicts<D extends {name: string}>(registry: Registry<D>): Map<string, PluginOrigin[]> {
  const byName = new Map<string, PluginOrigin[]>()
  for (const entry of registry.entries)
    byName.set(entry.descriptor.name, [...(byName.get(entry.descriptor.name) ?? []), entry.plugin])
  return new Map([...byName].filter(([, plugins]) => plugins.length > 1))
}

function originOf(plugin: {name: string; type: string}): PluginOrigin {
  return {name: plugin.name, type: plugin.type}
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text
}

function compare(a: string, b: string): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}
