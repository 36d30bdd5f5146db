/**
 * `.dockerignore` parsing and matching, the way Docker's BuildKit builder does it.
 *
 * The semantics follow moby/patternmatcher (`ignorefile.ReadAll`, `New`, `compile`,
 * `MatchesOrParentMatches`, `MatchesUsingParentResults`, v0.6.1) and the walker in tonistiigi/fsutil
 * (`filter.go`), both Apache-2.0. This is our own TypeScript implementation written from reading them;
 * docs/build-context.md lists the rules and the places where Docker differs from .gitignore.
 *
 * Here: reading the file, and deciding a path from the rules. Each pattern is compiled by
 * src/context/pattern.ts, through the Go regexp text patternmatcher builds (src/context/go-regexp.ts).
 */
import {KudevError} from '../output/errors.js'
import {type CompiledPattern, compilePattern, PatternError} from './pattern.js'

export interface IgnoreRule {
  /** The pattern as Docker matches it: trimmed, cleaned, without the leading `!` and `/`. */
  pattern: string
  /** The line as written in the file, trimmed. */
  text: string
  /** A `!` rule: a path it matches is re-included. */
  negated: boolean
  /** Where the rule comes from (a path, or a label such as `<kudev defaults>`). */
  file: string
  /** 1-based line number in `file`. */
  line: number
}

export interface ParseOptions {
  /**
   * Windows semantics: `\` is a path separator, never an escape. Defaults to the host, like the
   * Docker client, which reads .dockerignore with the host's rules.
   */
  windows?: boolean
}

export interface MatchResult {
  excluded: boolean
  /** The rule that decided: the last rule that matched the path or one of its parent folders. A `!` rule when it re-included the path. */
  rule?: IgnoreRule
}

/** A match result that also carries, per rule, whether it matched: a folder's state is where its entries start. */
export interface MatchState extends MatchResult {
  /** One byte per rule, 1 when the rule matched this path or a parent folder (as BuildKit records it). Treat as opaque. */
  readonly ruleMatched: Uint8Array
}

export interface Matcher {
  readonly rules: readonly IgnoreRule[]
  /** True when at least one `!` rule exists. */
  readonly hasNegations: boolean
  /**
   * The decision for one slash-separated path relative to the context root (clean, no leading `./`),
   * exactly as a BuildKit walk reaches it. The root (`''` or `.`) is never excluded.
   */
  matches(path: string): MatchResult
  /**
   * The walker's variant: `parent` is the state returned for the path's parent folder (undefined for
   * top-level entries). Only the path itself is tested against each rule, so a walk costs one test
   * per rule and entry. Without `parent`, a nested path is worked out from the root.
   */
  matchesWithParent(path: string, parent?: MatchState): MatchState
  /**
   * Can a `!` rule re-include something below the (excluded) folder `dir`? A walker may skip the
   * folder only when this is false. Conservative: it answers true unless nothing below can match.
   */
  mayReincludeBelow(dir: string): boolean
  /** patternmatcher's `MatchesOrParentMatches`, unchanged (no root special case, no cleaning). For cross-checks. */
  matchesOrParentMatches(path: string): boolean
  /** patternmatcher's `MatchesExact`: no parent folders. For cross-checks. */
  matchesExact(path: string): boolean
}

const HINT_BANG = 'write !PATH to re-include PATH, or delete the line; docker build rejects a lone "!" too'

// ---------------------------------------------------------------------------------------------
// Go string helpers: strings.TrimSpace and path.Clean / filepath.Dir on slash paths.

/** Go's unicode.IsSpace. Unlike String.prototype.trim it includes U+0085 and excludes U+FEFF. */
function isGoSpace(code: number): boolean {
  if (code <= 0xff) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0
  return (
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  )
}

function goTrimSpace(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && isGoSpace(text.charCodeAt(start))) start++
  while (end > start && isGoSpace(text.charCodeAt(end - 1))) end--
  return text.slice(start, end)
}

/** Go's path.Clean: lexical, `a/../b` → `b`, `foo/` → `foo`, `` → `.`. */
export function goClean(path: string): string {
  if (path === '') return '.'
  const rooted = path.startsWith('/')
  const out: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(segment)
  }
  const joined = out.join('/')
  if (rooted) return '/' + joined
  return joined === '' ? '.' : joined
}

/** Go's filepath.Dir on a slash path: everything up to the last `/`, cleaned. */
function goDir(path: string): string {
  return goClean(path.slice(0, path.lastIndexOf('/') + 1))
}

/** The parent folders patternmatcher tries for `path`: `a`, `a/b` for `a/b/c`. */
function parentPrefixes(path: string): string[] {
  const parent = goDir(path)
  if (parent === '.') return []
  const dirs = parent.split('/')
  return dirs.map((_, index) => dirs.slice(0, index + 1).join('/'))
}

// ---------------------------------------------------------------------------------------------
// Reading the file (ignorefile.ReadAll followed by patternmatcher.New).

/**
 * Parses the text of a .dockerignore. Throws KudevError('config') naming `file:line` for any pattern
 * Docker rejects, including those that only fail once Docker compiles them (`[Local-Only]/`).
 */
export function parseIgnoreFile(text: string, file: string, options: ParseOptions = {}): IgnoreRule[] {
  const windows = options.windows ?? process.platform === 'win32'
  const rules: IgnoreRule[] = []
  // bufio.ScanLines: split on \n, drop one trailing \r; a final empty segment is not a line.
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    let lineText = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (index === 0 && lineText.startsWith('\uFEFF')) lineText = lineText.slice(1)
    // The comment test happens before trimming: "  #x" is the pattern "#x".
    if (lineText.startsWith('#')) return
    const written = goTrimSpace(lineText)
    if (written === '') return
    const line = index + 1
    const rule = normalizeLine(written, file, line, windows)
    if (rule !== undefined) rules.push(rule)
  })
  return rules
}

function normalizeLine(written: string, file: string, line: number, windows: boolean): IgnoreRule | undefined {
  const fail = (error: PatternError): never => {
    throw invalidPattern(file, line, written, error)
  }
  // ignorefile.ReadAll: split a leading "!", trim again, clean, drop one leading "/".
  let pattern = written
  const invert = pattern.startsWith('!')
  if (invert) pattern = goTrimSpace(pattern.slice(1))
  if (windows) pattern = pattern.replaceAll('\\', '/')
  if (pattern.length > 0) {
    pattern = goClean(pattern)
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
  }
  // patternmatcher.New sees "!" + pattern, and cleans that whole string again: "!/" becomes "!".
  let entry = goClean(goTrimSpace(invert ? '!' + pattern : pattern))
  let negated = false
  if (entry.startsWith('!')) {
    if (entry.length === 1) fail(new PatternError('a lone "!" is an illegal exclusion pattern', HINT_BANG))
    negated = true
    entry = entry.slice(1)
  }
  try {
    compilePattern(entry)
  } catch (error) {
    if (error instanceof PatternError) fail(error)
    throw error
  }
  // "For historical reasons, the pattern . is ignored": it can only match the root, which is never excluded.
  if (entry === '.') return undefined
  return {pattern: entry, text: written, negated, file, line}
}

function invalidPattern(file: string, line: number, text: string, error: PatternError): KudevError {
  return new KudevError('config', `${file}:${line}: invalid pattern "${text}": ${error.reason}`, {
    hint: error.hint,
    data: {file, line, pattern: text},
  })
}

// ---------------------------------------------------------------------------------------------
// Matching.

interface CompiledRule {
  rule: IgnoreRule
  negated: boolean
  compiled: CompiledPattern
  /** For mayReincludeBelow: the literal text every matching path starts with. */
  literalPrefix: string
  /** For mayReincludeBelow: per-segment tests when the pattern cannot match across a "/". */
  segments?: ((segment: string) => boolean)[]
}

/** Builds the matcher for rules in file order. Throws KudevError('config') naming `file:line` for an invalid rule. */
export function compileRules(rules: readonly IgnoreRule[]): Matcher {
  return new RuleMatcher(rules.map(compileRule))
}

function compileRule(rule: IgnoreRule): CompiledRule {
  try {
    const compiled = compilePattern(rule.pattern)
    return {
      rule,
      negated: rule.negated,
      compiled,
      literalPrefix: literalPrefixOf(rule.pattern),
      segments: segmentTests(rule.pattern),
    }
  } catch (error) {
    if (error instanceof PatternError) throw invalidPattern(rule.file, rule.line, rule.text, error)
    throw error
  }
}

function literalPrefixOf(pattern: string): string {
  const end = pattern.search(/[*?[\]\\^]/)
  return end < 0 ? pattern : pattern.slice(0, end)
}

/**
 * Without "**", classes, escapes or "^", a pattern's "/" are literal and its wildcards stop at "/",
 * so it only matches paths with as many segments, each matching its own piece.
 */
function segmentTests(pattern: string): ((segment: string) => boolean)[] | undefined {
  if (pattern.includes('**') || /[[\]\\^]/.test(pattern)) return undefined
  return pattern.split('/').map((segment) => compilePattern(segment).test)
}

const EMPTY = new Uint8Array(0)

class RuleMatcher implements Matcher {
  readonly rules: readonly IgnoreRule[]
  readonly hasNegations: boolean
  readonly #compiled: readonly CompiledRule[]
  readonly #negated: readonly CompiledRule[]

  constructor(compiled: readonly CompiledRule[]) {
    this.#compiled = compiled
    this.#negated = compiled.filter((entry) => entry.negated)
    this.rules = compiled.map((entry) => entry.rule)
    this.hasNegations = this.#negated.length > 0
  }

  matches(path: string): MatchResult {
    const {excluded, rule} = this.matchesWithParent(path)
    return rule === undefined ? {excluded} : {excluded, rule}
  }

  matchesWithParent(path: string, parent?: MatchState): MatchState {
    if (path === '' || path === '.') return {excluded: false, ruleMatched: new Uint8Array(this.#compiled.length)}
    if (parent === undefined && this.#compiled.length > 0) {
      for (const ancestor of parentPrefixes(path)) parent = this.#step(ancestor, parent)
    }
    return this.#step(path, parent)
  }

  /**
   * patternmatcher's MatchesUsingParentResults, which is what BuildKit's walker (fsutil) calls: a rule
   * that matched the parent folder counts as matched; otherwise only the path itself is tested, and
   * only when the rule could change the current answer. That last condition makes the walk differ
   * from MatchesOrParentMatches for some rule orders (see docs/build-context.md); we follow the walk,
   * because it decides what BuildKit sends.
   */
  #step(path: string, parent: MatchState | undefined): MatchState {
    const compiled = this.#compiled
    const parentMatched = parent?.ruleMatched ?? EMPTY
    const ruleMatched = new Uint8Array(compiled.length)
    let excluded = false
    let decidedBy = -1
    for (let index = 0; index < compiled.length; index++) {
      const entry = compiled[index] as CompiledRule
      let match = parentMatched[index] === 1
      if (!match) {
        if (entry.negated !== excluded) continue
        match = entry.compiled.test(path)
      }
      if (match) {
        ruleMatched[index] = 1
        excluded = !entry.negated
        decidedBy = index
      }
    }
    const rule = decidedBy < 0 ? undefined : compiled[decidedBy]?.rule
    return rule === undefined ? {excluded, ruleMatched} : {excluded, rule, ruleMatched}
  }

  matchesOrParentMatches(path: string): boolean {
    let matched = false
    const parents = parentPrefixes(path)
    for (const entry of this.#compiled) {
      if (entry.negated !== matched) continue
      let match = entry.compiled.test(path)
      if (!match) match = parents.some((parent) => entry.compiled.test(parent))
      if (match) matched = !entry.negated
    }
    return matched
  }

  matchesExact(path: string): boolean {
    let matched = false
    for (const entry of this.#compiled) {
      if (entry.negated !== matched) continue
      if (entry.compiled.test(path)) matched = !entry.negated
    }
    return matched
  }

  mayReincludeBelow(dir: string): boolean {
    if (!this.hasNegations) return false
    if (dir === '' || dir === '.') return true
    // Entries below an excluded folder inherit every rule it matched, so only a "!" rule that matches
    // a path below it by itself can bring one back.
    return this.#negated.some((entry) => couldMatchBelow(entry, dir))
  }
}

function couldMatchBelow(entry: CompiledRule, dir: string): boolean {
  const below = dir + '/'
  const pattern = entry.rule.pattern
  switch (entry.compiled.kind) {
    case 'exact':
      return pattern.startsWith(below) && pattern.length > below.length
    case 'prefix': {
      const prefix = pattern.slice(0, -2)
      return prefix.startsWith(below) || below.startsWith(prefix)
    }
    case 'suffix':
      return true
    case 'regexp': {
      const literal = entry.literalPrefix
      if (!literal.startsWith(below) && !below.startsWith(literal)) return false
      if (entry.segments === undefined) return true
      const dirSegments = dir.split('/')
      if (entry.segments.length <= dirSegments.length) return false
      return dirSegments.every((segment, index) => (entry.segments?.[index] as (s: string) => boolean)(segment))
    }
  }
}
