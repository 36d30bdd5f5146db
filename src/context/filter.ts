/**
 * The one object the context walker asks "is this entry in the build context?". It combines:
 *
 * 1. the ignore file BuildKit would use: `<Dockerfile>.dockerignore` next to the Dockerfile, else
 *    `<context>/.dockerignore`; with neither, kudev's defaults (src/context/defaults.ts);
 * 2. `spec.buildContextExclusions` (.gitignore syntax), which always apply on top: nothing they exclude
 *    comes back through a `!` rule of the ignore file.
 *
 * The hash and the tar stream sent to the builder both go through this filter, so they agree.
 */
import {lstat, readFile, readlink} from 'node:fs/promises'
import path from 'node:path'

import type ignore from 'ignore'

import {KudevError} from '../output/errors.js'
import {DEFAULT_IGNORE_RULES} from './defaults.js'
import {compileRules, parseIgnoreFile, type IgnoreRule, type Matcher, type MatchState} from './dockerignore.js'

export interface ExclusionReason {
  /** `kudev`: kudev's own configuration file, which never enters the context. */
  source: 'dockerignore' | 'defaults' | 'buildContextExclusions' | 'kudev'
  /** The pattern as written (for a `!` rule, with its `!`). */
  pattern: string
  /** The ignore file (absolute path), `<kudev defaults>`, or the config file for buildContextExclusions. */
  file: string
  /** 1-based line in `file`; for buildContextExclusions, the 1-based position in the list. */
  line: number
  /** For buildContextExclusions: `spec.buildContextExclusions[i]`. */
  field?: string
}

/** Opaque per-entry state that lets a folder's entries be decided without re-testing the folder. */
export interface DecisionState {
  readonly dockerignore: MatchState
  /** Set when buildContextExclusions excluded this entry or a parent folder: everything below stays out. */
  readonly excludedByExclusions?: ExclusionReason
}

export interface Decision {
  excluded: boolean
  /** Why it is excluded. When both layers exclude it, the buildContextExclusions entry (no `!` can undo it). */
  reason?: ExclusionReason
  /** Set when the deciding ignore rule was a `!` rule: the entry is in because of it. */
  reincludedBy?: ExclusionReason
  readonly state: DecisionState
}

export interface ContextFilter {
  /** Which ignore file was used: absolute path and its exact bytes (they go into the digest), or undefined when the kudev defaults applied. */
  ignoreFile?: {path: string; text: string; bytes: Uint8Array}
  /** Where the ignore rules come from. */
  readonly source: 'dockerignore' | 'defaults'
  /** The ignore rules in effect (the file's, or the defaults). */
  readonly rules: readonly IgnoreRule[]
  /** spec.buildContextExclusions as given. */
  readonly exclusions: readonly string[]
  /** The .kudev.yaml in use, relative to the context, when it lies inside: always left out (its settings are not the image's). */
  readonly ownConfig?: string
  /** Decide for one entry. `relPath` is POSIX, relative to the context root, no leading './'. `parent` is the decision returned for its parent folder (undefined for top-level entries). */
  decide(relPath: string, isDir: boolean, parent?: Decision): Decision
  /** For an excluded folder: must the walker still descend because a `!` rule might re-include something below? */
  mustDescend(relDir: string, decision: Decision): boolean
}

export interface ContextFilterOptions {
  /** The build context folder. */
  contextDir: string
  /** The Dockerfile (absolute, or relative to the working directory like `docker build -f`); it may lie outside the context. */
  dockerfile: string
  /** spec.buildContextExclusions (.gitignore syntax, relative to the context root). */
  exclusions: string[]
  /** The .kudev.yaml the exclusions come from, for reasons and errors. */
  configFile?: string
}

export const DOCKERIGNORE_NAME = '.dockerignore'

export async function loadContextFilter(options: ContextFilterOptions): Promise<ContextFilter> {
  const contextDir = path.resolve(options.contextDir)
  const dockerfile = path.resolve(options.dockerfile)
  // BuildKit: a Dockerfile-specific ignore file replaces the root one (no merging); its patterns are
  // still relative to the context root.
  const ignoreFile =
    (await readIgnoreFile(path.dirname(dockerfile), path.basename(dockerfile) + DOCKERIGNORE_NAME)) ??
    (await readIgnoreFile(contextDir, DOCKERIGNORE_NAME))
  const rules = ignoreFile === undefined ? DEFAULT_IGNORE_RULES : parseIgnoreFile(ignoreFile.text, ignoreFile.path)
  return new Filter({
    ignoreFile,
    source: ignoreFile === undefined ? 'defaults' : 'dockerignore',
    rules,
    exclusions: options.exclusions,
    // Loaded only for projects that have exclusions: every run pays for an import.
    gitignore: options.exclusions.length > 0 ? (await import('ignore')).default : undefined,
    configFile: options.configFile,
    ownConfig: options.configFile === undefined ? undefined : insideContext(contextDir, options.configFile),
  })
}

/** `file` relative to `root` (POSIX) when it lies inside it. */
function insideContext(root: string, file: string): string | undefined {
  const relative = path.relative(root, path.resolve(file))
  if (relative === '' || relative.startsWith(`..${path.sep}`) || relative === '..' || path.isAbsolute(relative))
    return undefined
  return relative.split(path.sep).join('/')
}

/**
 * Reads `root/name` the way BuildKit's FollowPaths does: symlinks are followed, but inside `root`
 * (an absolute target counts from `root`, `..` stops at it). Missing (or a dangling link) → undefined.
 */
async function readIgnoreFile(
  root: string,
  name: string,
): Promise<{path: string; text: string; bytes: Uint8Array} | undefined> {
  const file = path.join(root, name)
  let bytes: Buffer | undefined
  try {
    const resolved = await resolveWithin(root, name)
    bytes = resolved === undefined ? undefined : await readFile(resolved)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      EISDIR: 'it is a folder',
      ELOOP: 'too many levels of symbolic links',
    }
    throw new KudevError('config', `cannot read ${file} (${why[code ?? ''] ?? code ?? String(error)})`, {
      hint: `make it a readable file, or delete it${name === DOCKERIGNORE_NAME ? " to use kudev's default exclusions" : ''}`,
      data: {file},
      cause: error,
    })
  }
  if (bytes === undefined) return undefined
  return {path: file, text: bytes.toString('utf8'), bytes: new Uint8Array(bytes)}
}

const MAX_LINKS = 255

async function resolveWithin(root: string, name: string): Promise<string | undefined> {
  let pending = name.split('/')
  let resolved: string[] = []
  let links = 0
  while (pending.length > 0) {
    const segment = pending.shift() as string
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      resolved.pop()
      continue
    }
    const candidate = [...resolved, segment]
    const full = path.join(root, ...candidate)
    const stat = await lstat(full)
    if (!stat.isSymbolicLink()) {
      resolved = candidate
      continue
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error(`too many symbolic links: ${full}`), {code: 'ELOOP'})
    const target = await readlink(full)
    if (path.isAbsolute(target)) resolved = []
    pending = [...target.split(/[\\/]/), ...pending]
  }
  return path.join(root, ...resolved)
}

interface FilterInit {
  ignoreFile: {path: string; text: string; bytes: Uint8Array} | undefined
  source: 'dockerignore' | 'defaults'
  rules: readonly IgnoreRule[]
  exclusions: readonly string[]
  /** The `ignore` package's factory; needed when there are exclusions. */
  gitignore?: typeof ignore
  configFile: string | undefined
  ownConfig: string | undefined
}

class Filter implements ContextFilter {
  readonly ignoreFile?: {path: string; text: string; bytes: Uint8Array}
  readonly source: 'dockerignore' | 'defaults'
  readonly rules: readonly IgnoreRule[]
  readonly exclusions: readonly string[]
  readonly ownConfig?: string
  readonly #ownConfigReason?: ExclusionReason
  readonly #matcher: Matcher
  readonly #gitignore: ReturnType<typeof ignore> | undefined
  readonly #exclusionReasons: readonly ExclusionReason[]
  readonly #ruleReasons = new Map<IgnoreRule, ExclusionReason>()
  readonly #root: Decision

  constructor(init: FilterInit) {
    if (init.ignoreFile !== undefined) this.ignoreFile = init.ignoreFile
    this.source = init.source
    this.rules = init.rules
    this.exclusions = [...init.exclusions]
    this.#matcher = compileRules(init.rules)
    const configFile = init.configFile ?? '.kudev.yaml'
    if (init.ownConfig !== undefined) {
      this.ownConfig = init.ownConfig
      this.#ownConfigReason = {file: configFile, line: 0, pattern: init.ownConfig, source: 'kudev'}
    }
    this.#exclusionReasons = this.exclusions.map((pattern, index) => ({
      source: 'buildContextExclusions',
      pattern,
      file: configFile,
      line: index + 1,
      field: `spec.buildContextExclusions[${index}]`,
    }))
    if (this.exclusions.length > 0) {
      // Case-sensitive like git on Linux and like Docker; `ignore` defaults to ignoring case.
      const gitignore = init.gitignore!({ignorecase: false})
      this.exclusions.forEach((pattern, index) => gitignore.add({pattern, mark: String(index)}))
      this.#gitignore = gitignore
    }
    this.#root = {excluded: false, state: {dockerignore: this.#matcher.matchesWithParent('')}}
  }

  decide(relPath: string, isDir: boolean, parent?: Decision): Decision {
    if (relPath === '' || relPath === '.') return this.#root
    const dockerignore = this.#matcher.matchesWithParent(relPath, parent?.state.dockerignore)
    // Deployment settings must not move the tag, and no ignore rule can bring the file back.
    if (!isDir && relPath === this.ownConfig)
      return {excluded: true, reason: this.#ownConfigReason!, state: {dockerignore}}
    const excludedByExclusions = parent?.state.excludedByExclusions ?? this.#testExclusions(relPath, isDir)
    const ruleReason = dockerignore.rule === undefined ? undefined : this.#ruleReason(dockerignore.rule)
    const state: DecisionState =
      excludedByExclusions === undefined ? {dockerignore} : {dockerignore, excludedByExclusions}
    if (excludedByExclusions !== undefined) return {excluded: true, reason: excludedByExclusions, state}
    if (dockerignore.excluded)
      return ruleReason === undefined ? {excluded: true, state} : {excluded: true, reason: ruleReason, state}
    return ruleReason === undefined ? {excluded: false, state} : {excluded: false, reincludedBy: ruleReason, state}
  }

  mustDescend(relDir: string, decision: Decision): boolean {
    if (!decision.excluded) return true
    if (decision.state.excludedByExclusions !== undefined) return false
    return this.#matcher.mayReincludeBelow(relDir)
  }

  #testExclusions(relPath: string, isDir: boolean): ExclusionReason | undefined {
    if (this.#gitignore === undefined) return undefined
    // .gitignore's "dir/" patterns only match folders, which `ignore` recognises by a trailing slash.
    // It also checks the parent folders itself, so a nested path decided without `parent` is right too.
    const result = this.#gitignore.test(isDir ? relPath + '/' : relPath)
    if (!result.ignored) return undefined
    const index = Number(result.rule?.mark ?? -1)
    return (
      this.#exclusionReasons[index] ?? {
        source: 'buildContextExclusions',
        pattern: result.rule?.pattern ?? '',
        file: this.#exclusionReasons[0]?.file ?? '.kudev.yaml',
        line: 0,
      }
    )
  }

  #ruleReason(rule: IgnoreRule): ExclusionReason {
    let reason = this.#ruleReasons.get(rule)
    if (reason === undefined) {
      reason = {source: this.source, pattern: rule.text, file: rule.file, line: rule.line}
      this.#ruleReasons.set(rule, reason)
    }
    return reason
  }
}
