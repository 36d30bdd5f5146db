import {existsSync} from 'node:fs'
import {resolve} from 'node:path'

import {KudevError} from '../output/errors.js'
import type {NpmFailure} from './npm-log.js'

/**
 * The failures of `kudev plugins install|uninstall|link|update|inspect`, commands of @oclif/plugin-plugins,
 * in kudev's form: which package or folder, why (npm's reason, read from its log), what to do. A package
 * that cannot be found, installed or removed is a `plugin` error (exit 4); a malformed name is `usage` (2).
 */
export interface PluginCommandContext {
  /** oclif's command id: plugins:install, plugins:link… */
  command: string
  /** The words after the command, flags included. */
  args: string[]
  /** What npm logged about its last failed run in this command, if one failed. */
  npm?: NpmFailure
  /** Whether a package name is one of the plugins bundled with kudev. */
  isBundled?: (name: string) => boolean
}

const TARBALL = 'file:/absolute/path/to/plugin.tgz'
const NETWORK = new Set([
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ERR_SOCKET_TIMEOUT',
])

/** The KudevError for a plugin command's failure; undefined when it is not one kudev recognises. */
export function pluginCommandError(thrown: unknown, context: PluginCommandContext): KudevError | undefined {
  const message = thrown instanceof Error ? thrown.message : String(thrown)
  const first = message.split('\n')[0]!.trim()
  const verb = verbOf(context.command)
  const operands = context.args.filter((arg) => !arg.startsWith('-'))
  // With -v the plugin commands print npm's output as it runs; otherwise --verbose shows npm's errors here.
  const npmShown = context.args.includes('-v') || context.args.includes('--verbose')
  const npmLines = npmShown ? [] : (context.npm?.lines.map((line) => `npm error ${line}`) ?? [])
  const debug = [...npmLines, message]
  const plugin = (text: string, hint: string) => new KudevError('plugin', text, {cause: thrown, debug, hint})

  const npmFailed = /exited with code \d+/.test(first) || /does not exist in the registry\.$/.test(first)
  if (npmFailed && context.npm) return npmError(verb, context.npm, operands, debug, thrown)

  let match: RegExpExecArray | null
  if ((match = /^(.+) does not exist in the registry\.$/.exec(first))) {
    return plugin(`cannot install ${match[1]}: not in the npm registry`, REGISTRY_HINT)
  }

  if (/exited with code \d+/.test(first)) {
    const subject = verb === 'update' ? 'cannot update the plugins' : `cannot ${verb} ${operands.join(' ')}`.trim()
    return plugin(
      `${subject}: npm failed (${/exited with code \d+/.exec(first)![0]})`,
      "rerun with -v for npm's output",
    )
  }

  if ((match = /^(.+?) is not installed$/.exec(first))) {
    const name = match[1]!
    if (context.isBundled?.(name)) {
      return plugin(
        `${name} is bundled with kudev and cannot be uninstalled`,
        'install a plugin with the same package name to replace it (docs/plugins.md)',
      )
    }

    return plugin(
      `${name} is not an installed plugin`,
      'kudev plugins lists the installed and linked plugins; uninstall takes the package name',
    )
  }

  if ((match = /^(.+?) is installed via plugin (.+?), uninstall/.exec(first))) {
    return plugin(`${match[1]} comes with the plugin ${match[2]}`, `uninstall ${match[2]} instead`)
  }

  // Without a name, inspect takes the plugin in this folder (its argument defaults to '.'): the name in ./package.json.
  const here = operands.length === 0 || operands.includes('.')
  const code = (thrown as NodeJS.ErrnoException | undefined)?.code
  if (verb === 'inspect' && here && (code === 'ENOENT' || thrown instanceof SyntaxError)) {
    const why = code === 'ENOENT' ? 'which this folder does not have' : 'which is not JSON here'
    const message = `kudev plugins inspect needs a plugin's package name: without one it reads ./package.json, ${why}`
    return new KudevError('usage', message, {
      cause: thrown,
      debug,
      hint: 'kudev plugins inspect <package name>; kudev plugins --core lists every plugin',
    })
  }

  if ((match = /^(.+) not installed$/.exec(first))) {
    return plugin(
      `no plugin named ${match[1]}`,
      'kudev plugins --core lists every plugin; inspect takes the package name',
    )
  }

  if (first === 'Invalid npm package name.') {
    return new KudevError('usage', `${quoteAll(operands)} is not a valid npm package name`, {
      cause: thrown,
      debug,
      hint: `give an npm package name, ${TARBALL}, or a git URL`,
    })
  }

  if (first === 'plugin is invalid') {
    const what = verb === 'link' ? resolve(operands[0] ?? '.') : operands.join(' ')
    return plugin(
      `${what} is not an oclif plugin: its package.json has no oclif section`,
      'a kudev plugin declares its hooks under oclif.hooks in its package.json (docs/plugins.md)',
    )
  }

  if (first.startsWith('could not find package.json with') || /^no name in package\.json/.test(first)) {
    const folder = resolve(operands[0] ?? '.')
    let why = 'no package.json in it or above it'
    if (!existsSync(folder)) why = 'no such folder'
    else if (first.startsWith('no name')) why = 'its package.json has no name'
    return plugin(`cannot link ${folder}: ${why}`, "give the plugin's folder, the one with its package.json")
  }

  if ((match = /^Could not find plugin name for (.+)$/.exec(first))) {
    return plugin(
      `cannot install ${match[1]}: npm installed it, but not as a package kudev can name`,
      "rerun with -v for npm's output",
    )
  }

  if (first.startsWith('Ignoring top-level CLI plugin')) {
    return new KudevError('usage', 'kudev cannot be installed as a plugin of itself', {
      cause: thrown,
      hint: 'update kudev itself with npm install --global kudev',
    })
  }

  // Any other deliberate error of the plugin commands (oclif's CLIError) is about a plugin; anything else
  // (a TypeError…) is a bug and stays internal.
  if ((thrown as {oclif?: unknown}).oclif !== undefined) {
    return plugin(first, `see kudev ${context.command.replaceAll(':', ' ')} --help`)
  }

  return undefined
}

const REGISTRY_HINT =
  'check the name (plugins are named kudev-plugin-<name>); KUDEV_NPM_REGISTRY selects another registry'

function npmError(verb: string, npm: NpmFailure, operands: string[], debug: string[], cause: unknown): KudevError {
  const spec = npm.spec ?? operands.join(' ')
  let subject = `cannot ${verb} ${spec}`.trim()
  if (verb === 'update') subject = 'cannot update the plugins'
  if (verb === 'link') subject = `cannot link ${resolve(operands[0] ?? '.')}: npm install in it failed`
  const fail = (why: string, hint: string) => new KudevError('plugin', `${subject}: ${why}`, {cause, debug, hint})
  const summary = npm.summary ?? npm.code ?? 'npm failed'
  // oclif's installer takes a bare path such as /tmp/x.tgz for a GitHub owner/repo.
  const bare = verb === 'install' ? operands.find((operand) => /^(\/|\.{1,2}\/|~)/.test(operand)) : undefined
  const noPrefix = bare ? `a local path needs the file: prefix: kudev plugins install file:${resolve(bare)}` : undefined
  const code = npm.code ?? ''
  if (bare && spec !== bare) {
    return new KudevError('plugin', `cannot install ${bare}: without file: it is read as the repository ${spec}`, {
      cause,
      debug,
      hint: noPrefix,
    })
  }

  if (code === 'ENOENT' && npm.path?.endsWith('/package.json')) {
    return fail(
      `${npm.path.slice(0, -'/package.json'.length)} has no package.json`,
      noPrefix ?? "give a tarball made by npm pack, or the plugin's folder (the one with its package.json)",
    )
  }

  if (code === 'ENOENT') {
    return fail(`no such file ${npm.path ?? ''}`.trim(), noPrefix ?? `check the path; a packed plugin is ${TARBALL}`)
  }

  if (code === 'ENOTDIR') {
    const path = npm.path?.replace(/\/package\.json$/, '') ?? spec
    return fail(`${path} is neither a folder nor a .tgz tarball`, 'npm pack makes a tarball whose name ends in .tgz')
  }

  if (code === 'TAR_BAD_ARCHIVE' || code === 'EINTEGRITY' || code === 'Z_DATA_ERROR') {
    return fail(`not a valid tarball (${summary})`, 'make the tarball again with npm pack')
  }

  if (code === 'E404') {
    const registry = /GET (https?:\/\/[^/\s]+)/.exec(summary)?.[1]
    return fail(`not in the npm registry${registry ? ` at ${registry}` : ''}`, noPrefix ?? REGISTRY_HINT)
  }

  if (code === 'ETARGET') {
    return fail(`no published version matches (${summary})`, `npm view ${packageName(spec)} versions lists them`)
  }

  if (code === 'ENOTCACHED') {
    return fail(
      'npm is offline and has no cached copy',
      `unset npm_config_offline to let npm reach the registry, or install a packed plugin: ${TARBALL}`,
    )
  }

  if (NETWORK.has(code)) {
    const host = /request to (\S+?) failed/.exec(summary)?.[1]
    const where = host ? hostOf(host) : 'the registry'
    return fail(
      `npm could not reach ${where} (${code})`,
      noPrefix ?? `check the network and npm's proxy settings, or install a packed plugin: ${TARBALL}`,
    )
  }

  if (code === 'EACCES' || code === 'EPERM') {
    return fail(
      `permission denied${npm.path ? ` on ${npm.path}` : ''}`,
      'own that folder, or set KUDEV_DATA_DIR to a folder you own',
    )
  }

  if (code === 'E401' || code === 'E403') {
    return fail(`the registry refused access (${summary})`, 'log in with npm login, or check the token in your .npmrc')
  }

  return fail(`npm failed${code ? ` with ${code}` : ''}: ${summary}`, noPrefix ?? "rerun with -v for npm's output")
}

function verbOf(command: string): string {
  const sub = command.split(':')[1] ?? ''
  if (sub === 'add') return 'install'
  if (sub === 'unlink' || sub === 'remove') return 'uninstall'
  return sub || 'install'
}

/** kudev-plugin-x@latest → kudev-plugin-x; @scope/name@1.0.0 → @scope/name. */
function packageName(spec: string): string {
  const at = spec.lastIndexOf('@')
  return at > 0 ? spec.slice(0, at) : spec
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

function quoteAll(words: string[]): string {
  return words.map((word) => `"${word}"`).join(', ') || 'the name'
}
