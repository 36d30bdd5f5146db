import {mkdtempSync, rmSync} from 'node:fs'
import {readdir, readFile, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * `kudev plugins install|link|update|uninstall` run npm. Its output is noise when all goes well and, when
 * not, a screenful ending in a command line and an exit code. npm writes every run to a debug log whatever
 * its log level, so kudev keeps npm quiet and, when it fails, reads the log to say what failed in one line.
 */
export interface NpmLogs {
  /** The folder npm writes its debug logs to (npm_config_logs_dir). */
  dir: string
  /** When the command started: older logs are not this run's. */
  since: number
  /** Removes the folder if kudev made it. */
  dispose(): void
}

/** What npm logged about its last failed run. */
export interface NpmFailure {
  /** npm's error code: ENOENT, E404, ETARGET, ENOTCACHED, ENOTFOUND, TAR_BAD_ARCHIVE… */
  code?: string
  /** The file npm's error is about, when it says. */
  path?: string
  /** npm's subcommand (install, view, update, uninstall) and the package spec it was given. */
  command?: string
  spec?: string
  /** npm's explanation: its first error line that is not code/syscall/path/errno, without npm's prefix. */
  summary?: string
  /** Every error line, as npm printed them (for --verbose). */
  lines: string[]
}

/**
 * Sets the environment the plugin commands pass on to npm: quiet unless the user chose a level
 * (KUDEV_NPM_LOG_LEVEL; `-v` still makes it verbose) and logging to a folder of kudev's own, unless the
 * user chose one (npm_config_logs_dir).
 */
export function watchNpm(env: NodeJS.ProcessEnv = process.env): NpmLogs {
  env.KUDEV_NPM_LOG_LEVEL ??= 'silent'
  const since = Date.now()
  const chosen = env.npm_config_logs_dir
  if (chosen) return {dir: chosen, dispose() {}, since}
  const dir = mkdtempSync(join(tmpdir(), 'kudev-npm-logs-'))
  env.npm_config_logs_dir = dir
  return {
    dir,
    dispose() {
      rmSync(dir, {force: true, recursive: true})
    },
    since,
  }
}

/** The newest npm log of this run that records an error, parsed; undefined when there is none. */
export async function lastNpmFailure(logs: NpmLogs): Promise<NpmFailure | undefined> {
  const names = (await readdir(logs.dir).catch(() => [] as string[])).filter((name) => /-debug-\d+\.log$/.test(name))
  const dated = await Promise.all(
    names.map(async (name) => ({file: join(logs.dir, name), mtime: (await stat(join(logs.dir, name))).mtimeMs})),
  )
  // File times may be coarser than Date.now(): allow a second.
  const recent = dated.filter((log) => log.mtime >= logs.since - 1000).sort((a, b) => b.mtime - a.mtime)
  for (const {file} of recent) {
    const failure = parseNpmLog(await readFile(file, 'utf8'))
    if (failure) return failure
  }

  return undefined
}

const KEYED = new Set(['code', 'syscall', 'path', 'errno'])

/** Parses an npm debug log ("12 error code ENOENT" lines); undefined when it records no error. */
export function parseNpmLog(text: string): NpmFailure | undefined {
  const failure: NpmFailure = {lines: []}
  const explanations: string[] = []
  for (const line of text.split('\n')) {
    const match = /^\d+ (\w+) (.*)$/.exec(line)
    if (!match) continue
    const [, level, rest = ''] = match
    if (level === 'verbose' && rest.startsWith('argv ')) {
      const args = [...rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((quoted) => JSON.parse(`"${quoted[1]}"`) as string)
      failure.command = args[0]
      failure.spec = args.slice(1).find((arg) => !arg.startsWith('-'))
    }

    if (level !== 'error' || rest.startsWith('A complete log of this run')) continue
    failure.lines.push(rest)
    const [key = '', ...value] = rest.split(' ')
    if (KEYED.has(key) && value.length > 0) {
      if (key === 'code') failure.code ??= value.join(' ')
      if (key === 'path') failure.path ??= value.join(' ')
    } else if (rest.trim()) explanations.push(rest)
  }

  if (failure.lines.length === 0) return undefined
  const first = explanations.find((line) => stripPrefix(line, failure.code))
  if (first) failure.summary = stripPrefix(first, failure.code)
  return failure
}

/** npm starts each explanation with a lowercase title ("enoent", "404", "notarget", "network"). */
function stripPrefix(line: string, code: string | undefined): string {
  const [title = '', ...rest] = line.split(' ')
  const titled =
    title === code?.toLowerCase() || /^\d{3}$/.test(title) || ['network', 'notarget', 'enoent'].includes(title)
  return (titled ? rest.join(' ') : line).trim()
}
