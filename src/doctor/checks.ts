import type {Config} from '@oclif/core'

import type {ProjectConfig} from '../config/index.js'
import type {KubeContext} from '../kube/index.js'
import type {ExitCodeName} from '../output/errors.js'
import type {Logger} from '../output/logger.js'
import {toKudevError} from '../output/report.js'
import type {Diagnostic} from '../plugins/contract.js'
import type {Registry} from '../plugins/resolver.js'

export interface Check {
  name: string
  ok: boolean
  summary: string
  hint?: string
  /** The error code of a failed check; the command exits with the first one's. */
  code?: ExitCodeName
}

export interface PluginRow {
  name: string
  description: string
  plugin: string
  pluginType: string
}

export interface DoctorReport {
  ok: boolean
  checks: Check[]
  /** Plugin problems that leave the other plugins usable. */
  warnings: string[]
  config?: string
  context?: Pick<KubeContext, 'name' | 'cluster' | 'server' | 'source' | 'file'>
  builders: PluginRow[]
  loaders: PluginRow[]
  /** Installed and linked plugins (bundled ones are listed with what they register). */
  plugins: {name: string; version: string; type: string}[]
}

export interface DoctorOptions {
  oclif: Config
  logger: Logger
  cwd: string
  configFile?: string
  dir?: string
  kubeContext?: string
  builder?: string
  loader?: string
  /** --registry: check pushing there. */
  registry?: string
}

/**
 * Every check runs even when an earlier one fails: the point is to see everything that is wrong at once.
 * A failed check means `kudev up` could not work here.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const {loadConfig} = await import('../config/index.js')
  const {resolveKubeContext} = await import('../kube/index.js')
  const {collectBuilders, collectLoaders, conflicts} = await import('../plugins/resolver.js')
  const checks: Check[] = []
  const warnings: string[] = []
  const plugins = options.oclif
    .getPluginsList()
    .filter((plugin) => plugin.type === 'user' || plugin.type === 'link')
    .map((plugin) => ({name: plugin.name, type: plugin.type, version: plugin.version}))
  const report: DoctorReport = {builders: [], checks, loaders: [], ok: true, plugins, warnings}

  const project = await attempt(
    checks,
    'config',
    () => loadConfig({config: options.configFile, cwd: options.cwd, dir: options.dir}),
    (found: ProjectConfig) => found.file,
  )
  report.config = project?.file

  const context = await attempt(
    checks,
    'kube context',
    () => resolveKubeContext({configured: project?.config.spec.kubeContext, flag: options.kubeContext}),
    describeContext,
  )
  if (context)
    report.context = {
      cluster: context.cluster,
      file: context.file,
      name: context.name,
      server: context.server,
      source: context.source,
    }

  const quiet = {...options.logger, warn: (message: string) => warnings.push(message)}
  for (const registry of [
    await collectBuilders(options.oclif, {logger: quiet}),
    await collectLoaders(options.oclif, {logger: quiet}),
  ]) {
    const rows = registry.entries.map(({descriptor, plugin}) => ({
      description: descriptor.description,
      name: descriptor.name,
      plugin: plugin.name,
      pluginType: plugin.type,
    }))
    const name = registry.role === 'builder' ? 'builders' : 'loaders'
    report[name] = rows
    for (const [duplicate, owners] of conflicts(registry as Registry<{name: string}>)) {
      warnings.push(
        `${registry.role} "${duplicate}" is registered by ${owners.map((p) => p.name).join(' and ')}; it cannot be used until one is removed`,
      )
    }

    checks.push(
      rows.length > 0
        ? {name, ok: true, summary: rows.map((row) => `${row.name} (${row.plugin})`).join(', ')}
        : {
            code: 'plugin',
            hint: `kudev's bundled ${name} are missing: reinstall kudev, or install a plugin with \`kudev plugins install NAME\``,
            name,
            ok: false,
            summary: `no ${name} registered`,
          },
    )
  }

  if (plugins.length > 0)
    checks.push({
      name: 'plugins',
      ok: true,
      summary: plugins.map((p) => `${p.name} ${p.version} (${p.type})`).join(', '),
    })

  const {chooseBuilder, chooseLoader} = await import('../pipeline/choose.js')
  const choice = {...options, logger: {...options.logger, warn: () => {}}, project}
  const builder = await attempt(
    checks,
    'builder',
    async () => (await chooseBuilder(choice)).builder,
    (b) => b.name,
  )
  if (builder?.diagnose) checks.push(...asChecks(await builder.diagnose(), 'engine'))

  if (context) {
    checks.push(await advertisedRegistryCheck(context))
    const chosen = await attempt(
      checks,
      'loader',
      () => chooseLoader(choice, context),
      (c) => `${c.loader.name} (${c.plugin}), ${c.reason}`,
    )
    if (chosen?.loader.diagnose) checks.push(...asChecks(await chosen.loader.diagnose(chosen.target), 'load'))
  }

  if (project) checks.push(await hashCacheCheck(project.buildContext))
  report.ok = checks.every((check) => check.ok)
  return report
}

/** The registry the cluster advertises, asked afresh (what kudev up remembers is replaced by this answer). */
async function advertisedRegistryCheck(context: KubeContext): Promise<Check> {
  const {advertisedRegistry, HOSTING_CONFIGMAP} = await import('../kube/registry-hosting.js')
  const answer = await advertisedRegistry(context, {fresh: true})
  const name = 'cluster registry'
  if (answer.hosting !== undefined) {
    const {host, hostFromContainerRuntime} = answer.hosting
    const pulled = hostFromContainerRuntime ? ` (nodes pull it as ${hostFromContainerRuntime})` : ''
    return {
      name,
      ok: true,
      summary: `${host}${pulled}, advertised in ConfigMap ${HOSTING_CONFIGMAP}: kudev up pushes there`,
    }
  }

  const why = answer.notes.join('; ')
  return answer.source === 'unknown'
    ? {hint: 'kudev up asks again on each run until the API server answers', name, ok: true, summary: `unknown: ${why}`}
    : {name, ok: true, summary: `none: ${why}`}
}

/** Where the tree snapshot lives and whether folder times can vouch for listings: why repeat runs are fast or not. */
async function hashCacheCheck(buildContext: string): Promise<Check> {
  const {folderTimesTrusted} = await import('../hash/folder-times.js')
  const {snapshotFiles, snapshotFolder} = await import('../hash/snapshot-store.js')
  const count = snapshotFiles(buildContext).length
  let held = `${count} snapshots, one per set of ignore rules`
  if (count <= 1) held = count === 0 ? 'no snapshot yet' : '1 snapshot'
  const where = `${snapshotFolder(buildContext)} (${held})`
  let trust: true | string
  try {
    trust = folderTimesTrusted(buildContext)
  } catch (error) {
    trust = `cannot tell (${(error as NodeJS.ErrnoException).code ?? String(error)})`
  }

  if (trust === true)
    return {
      name: 'hash cache',
      ok: true,
      summary: `${where}; folder times trusted: a repeat run stats the recorded tree and lists only folders that moved`,
    }
  const summary = `${where}; folder times not trusted (${trust}): a repeat run lists every folder, and reads only files whose stat moved`
  const hint =
    process.env.KUDEV_TRUST_FOLDER_TIMES === '0'
      ? 'unset KUDEV_TRUST_FOLDER_TIMES to let kudev trust them again'
      : 'nothing to do unless repeat runs are slow; then keep the project on a local Linux filesystem (ext4, xfs, btrfs, tmpfs, …)'
  return {hint, name: 'hash cache', ok: true, summary}
}

function asChecks(diagnostics: Diagnostic[], code: ExitCodeName): Check[] {
  return diagnostics.map((d) => ({
    name: d.name,
    ok: d.ok,
    summary: d.summary,
    ...(d.ok ? {} : {code}),
    ...(d.hint ? {hint: d.hint} : {}),
  }))
}

async function attempt<T>(
  checks: Check[],
  name: string,
  run: () => Promise<T>,
  describe: (value: T) => string,
): Promise<T | undefined> {
  try {
    const value = await run()
    checks.push({name, ok: true, summary: describe(value)})
    return value
  } catch (thrown) {
    const error = toKudevError(thrown)
    checks.push({
      code: error.code,
      hint: error.hint,
      name,
      ok: false,
      summary: [error.message, ...error.details].join('\n'),
    })
    return undefined
  }
}

function describeContext(context: KubeContext): string {
  const where = context.server ? ` at ${context.server}` : ''
  const from = {config: 'spec.kubeContext', 'current-context': 'current-context', flag: '--kube-context'}[
    context.source
  ]
  return `${context.name} (cluster ${context.cluster ?? 'unnamed'}${where}; chosen by ${from})`
}
