/**
 * `.dockerignore` parsing and matching, the way Docker's BuildKit builder does it.
 *
 * The semantics follow moby/patternmatcher (`ignorefile.ReadAll`, `New`, `compile`,
 * `MatchesOrParentMatches`, `MatchesUsingParentResults`, v0.6.1) and the walker in tonistiigi/fsutil
 * (`filter.go`), both Apache-2.0. This is our own TypeScript implementation written from reading them;
 * docs/build-context.md lists the rules and the places where Docker differs from .gitignore.
 *
 * The shape of the port: a pattern is turned into the same Go regular-expression text patternmatcher
 * builds, and that text is then translated into an equivalent JavaScript RegExp. Keeping the Go text
 * as an intermediate step keeps the quirks (classes passed through, `\d` meaning a digit, `[Local-Only]`
 * failing) exactly where Docker has them, and lets the upstream compile tests check the first step.
 */
import {KudevError} from '../output/errors.js'

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

export type PatternKind = 'exact' | 'prefix' | 'suffix' | 'regexp'

export interface CompiledPattern {
  /** How patternmatcher matches it: `exact` (string equality), `prefix` (`dir/**`), `suffix` (`**\/name`), or a regular expression. */
  kind: PatternKind
  /** The Go regular expression patternmatcher builds (only for `regexp`). */
  goRegexp?: string
  /** The equivalent JavaScript regular expression (only for `regexp`). */
  regexp?: RegExp
  test(path: string): boolean
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

/** A pattern Docker refuses; wrapped into a KudevError naming the file and line. */
class PatternError extends Error {
  constructor(
    readonly reason: string,
    readonly hint: string,
  ) {
    super(reason)
  }
}

const HINT_SYNTAX =
  'escape a literal [, ] or \\ with a backslash (\\[), or delete the line; docker build rejects this pattern too'
const HINT_REGEXP =
  'docker build fails on this pattern too (Docker turns it into an invalid regular expression); fix or delete the line'
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
// Syntax check: Go's filepath.Match(pattern, ".") returns ErrBadPattern for exactly these.

function checkGlobSyntax(chars: readonly string[]): void {
  let index = 0
  while (index < chars.length) {
    const char = chars[index]
    if (char === '\\') {
      if (index + 1 >= chars.length) throw new PatternError('ends with a backslash that escapes nothing', HINT_SYNTAX)
      index += 2
      continue
    }
    if (char !== '[') {
      index++
      continue
    }
    index++
    if (chars[index] === '^') index++
    let ranges = 0
    for (;;) {
      if (chars[index] === ']' && ranges > 0) {
        index++
        break
      }
      index = skipClassEndpoint(chars, index)
      if (chars[index] === '-') index = skipClassEndpoint(chars, index + 1)
      ranges++
    }
  }
}

function skipClassEndpoint(chars: readonly string[], start: number): number {
  const char = chars[start]
  if (char === undefined) throw new PatternError('a character class "[" is not closed', HINT_SYNTAX)
  if (char === '-' || char === ']') {
    throw new PatternError(`"${char}" must be escaped where it starts a character class item`, HINT_SYNTAX)
  }
  let index = start + (char === '\\' ? 1 : 0)
  if (index >= chars.length) throw new PatternError('a character class "[" is not closed', HINT_SYNTAX)
  index++
  if (index >= chars.length) throw new PatternError('a character class "[" is not closed', HINT_SYNTAX)
  return index
}

// ---------------------------------------------------------------------------------------------
// patternmatcher's compile: the pattern becomes a match kind and, for `regexp`, Go regexp text.

const REGEXP_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$'])

function buildGoRegexp(chars: readonly string[]): {kind: PatternKind; source: string} {
  let source = '^'
  let kind: PatternKind = 'exact'
  let index = 0
  // `step` counts loop turns, not characters: "**" only takes the suffix path when it opens the pattern.
  for (let step = 0; index < chars.length; step++) {
    const char = chars[index++] as string
    if (char === '*') {
      if (chars[index] === '*') {
        index++
        if (chars[index] === '/') index++ // "**/" is "**"
        if (index >= chars.length) {
          // "**" at the end accepts everything below, as in .gitignore.
          if (kind === 'exact') kind = 'prefix'
          else {
            source += '.*'
            kind = 'regexp'
          }
        } else {
          source += '(.*/)?'
          kind = 'regexp'
        }
        if (step === 0) kind = 'suffix'
      } else {
        source += '[^/]*'
        kind = 'regexp'
      }
    } else if (char === '?') {
      source += '[^/]'
      kind = 'regexp'
    } else if (REGEXP_ESCAPED.has(char)) {
      source += '\\' + char
    } else if (char === '\\') {
      if (index < chars.length) {
        source += '\\' + chars[index++]
        kind = 'regexp'
      } else {
        source += '\\'
      }
    } else if (char === '[' || char === ']') {
      source += char
      kind = 'regexp'
    } else {
      source += char
    }
  }
  if (kind === 'regexp') source += '$'
  return {kind, source}
}

/**
 * Compiles one cleaned pattern (no `!`) the way patternmatcher does. Throws PatternError when Docker
 * would refuse it, at parse time or at match time.
 */
export function compilePattern(pattern: string): CompiledPattern {
  const chars = Array.from(pattern)
  checkGlobSyntax(chars)
  const {kind, source} = buildGoRegexp(chars)
  switch (kind) {
    case 'exact':
      return {kind, test: (path) => path === pattern}
    case 'prefix': {
      const prefix = pattern.slice(0, -2)
      return {kind, test: (path) => path.startsWith(prefix)}
    }
    case 'suffix': {
      // The fast path Docker takes for a leading "**" with nothing special after it: a plain suffix,
      // so "**file" also matches "myfile" (a quirk of patternmatcher since Dec 2021).
      const suffix = pattern.slice(2)
      const bare = suffix.startsWith('/') ? suffix.slice(1) : undefined
      return {kind, test: (path) => path.endsWith(suffix) || path === bare}
    }
    case 'regexp': {
      const regexp = new RegExp(goRegexpToJs(source), 'u')
      return {kind, goRegexp: source, regexp, test: (path) => regexp.test(path)}
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Go RE2 syntax → JavaScript. Covers everything patternmatcher's text can contain: literals and
// escapes, classes with ranges, POSIX ([:alpha:]), Perl (\d) and Unicode (\pL) classes, `.`, `^`, `$`,
// the `(.*/)?` group, \A \z \b \B \Q…\E. Errors where Go's regexp.Compile errors.

type Range = readonly [number, number]

const ASCII_CLASSES: Record<string, readonly Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
}

/** Go's Perl classes are ASCII-only; Go's \s has no \v. */
const PERL_CLASSES: Record<string, readonly Range[]> = {
  d: ASCII_CLASSES.digit as readonly Range[],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: ASCII_CLASSES.word as readonly Range[],
}

const MAX_CODE_POINT = 0x10ffff

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  const out: Range[] = []
  let next = 0
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1])
    next = Math.max(next, hi + 1)
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT])
  return out
}

function isAsciiAlnum(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
}

/** One code point as JavaScript regexp text (valid inside and outside a class with the `u` flag). */
function jsLiteral(code: number): string {
  return isAsciiAlnum(code) || code === 0x5f ? String.fromCodePoint(code) : `\\u{${code.toString(16)}}`
}

function jsRanges(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? jsLiteral(lo) : `${jsLiteral(lo)}-${jsLiteral(hi)}`)).join('')
}

function isOctal(char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '7'
}

function hexValue(char: string | undefined): number {
  if (char === undefined || !/^[0-9A-Fa-f]$/.test(char)) return -1
  return Number.parseInt(char, 16)
}

function regexpError(reason: string): PatternError {
  return new PatternError(`Docker compiles it to an invalid regular expression (${reason})`, HINT_REGEXP)
}

/** Go's parseEscape: `chars[start]` is the backslash. Returns the code point and the next index. */
function parseGoEscape(chars: readonly string[], start: number): [number, number] {
  const char = chars[start + 1]
  if (char === undefined) throw regexpError('trailing backslash')
  let index = start + 2
  const invalid = (): PatternError => regexpError(`invalid escape sequence \\${char}`)
  if (isOctal(char)) {
    // Octal \0, \012, \12; a single non-zero digit would be a backreference, which Go does not support.
    if (char !== '0' && !isOctal(chars[index])) throw invalid()
    let value = Number(char)
    for (let digits = 1; digits < 3 && isOctal(chars[index]); digits++) value = value * 8 + Number(chars[index++])
    return [value, index]
  }
  switch (char) {
    case 'x': {
      if (chars[index] === '{') {
        index++
        let value = 0
        let digits = 0
        for (;;) {
          const next = chars[index++]
          if (next === undefined) throw invalid()
          if (next === '}') break
          const digit = hexValue(next)
          if (digit < 0) throw invalid()
          value = value * 16 + digit
          if (value > MAX_CODE_POINT) throw invalid()
          digits++
        }
        if (digits === 0) throw invalid()
        return [value, index]
      }
      const high = hexValue(chars[index])
      const low = hexValue(chars[index + 1])
      if (high < 0 || low < 0) throw invalid()
      return [high * 16 + low, index + 2]
    }
    case 'a':
      return [0x07, index]
    case 'f':
      return [0x0c, index]
    case 'n':
      return [0x0a, index]
    case 'r':
      return [0x0d, index]
    case 't':
      return [0x09, index]
    case 'v':
      return [0x0b, index]
    default: {
      const code = char.codePointAt(0) as number
      // Escaped ASCII punctuation is itself; Go refuses any other escape (\y, \é).
      if (code < 0x80 && !isAsciiAlnum(code)) return [code, index]
      throw invalid()
    }
  }
}

/** `\pL`, `\p{Greek}`, `\P{^Lu}`: `chars[start]` is the backslash. */
function parseGoUnicodeClass(chars: readonly string[], start: number): [string, number] {
  let negated = chars[start + 1] === 'P'
  let name: string
  let index = start + 2
  if (chars[index] === '{') {
    const end = chars.indexOf('}', index)
    if (end < 0) throw regexpError('\\p{ is not closed')
    name = chars.slice(index + 1, end).join('')
    index = end + 1
  } else {
    name = chars[index] ?? ''
    index++
  }
  if (name.startsWith('^')) {
    negated = !negated
    name = name.slice(1)
  }
  const letter = negated ? 'P' : 'p'
  const candidates = name === 'Any' ? ['Any'] : [`General_Category=${name}`, `Script=${name}`]
  for (const candidate of candidates) {
    const piece = `\\${letter}{${candidate}}`
    try {
      new RegExp(piece, 'u')
      return [piece, index]
    } catch {
      // try the next reading of the name
    }
  }
  throw regexpError(`unknown Unicode class \\p{${name}}`)
}

/** A class (`chars[start]` is `[`) in Go syntax: returns JavaScript class text and the next index. */
function translateGoClass(chars: readonly string[], start: number): [string, number] {
  let index = start + 1
  let negated = false
  if (chars[index] === '^') {
    negated = true
    index++
  }
  const parts: string[] = []
  let first = true
  const missingBracket = (): PatternError => regexpError('missing closing ]')
  const classChar = (): number => {
    const char = chars[index]
    if (char === undefined) throw missingBracket()
    if (char === '\\') {
      const [code, next] = parseGoEscape(chars, index)
      index = next
      return code
    }
    index++
    return char.codePointAt(0) as number
  }
  for (;;) {
    if (index >= chars.length) throw missingBracket()
    if (chars[index] === ']' && !first) {
      index++
      break
    }
    first = false
    if (chars[index] === '[' && chars[index + 1] === ':' && index + 2 < chars.length) {
      // Go looks for ":]" anywhere in the rest of the expression; without one, "[" is a literal.
      const rest = chars.slice(index + 2).join('')
      const end = rest.indexOf(':]')
      if (end >= 0) {
        const name = rest.slice(0, end)
        const base = name.startsWith('^') ? name.slice(1) : name
        const ranges = Object.hasOwn(ASCII_CLASSES, base) ? ASCII_CLASSES[base] : undefined
        if (ranges === undefined) throw regexpError(`unknown character class [:${name}:]`)
        parts.push(jsRanges(name.startsWith('^') ? complement(ranges) : ranges))
        index += 2 + Array.from(name).length + 2
        continue
      }
    }
    if (chars[index] === '\\' && (chars[index + 1] === 'p' || chars[index + 1] === 'P')) {
      const [piece, next] = parseGoUnicodeClass(chars, index)
      parts.push(piece)
      index = next
      continue
    }
    const perl = chars[index] === '\\' ? chars[index + 1] : undefined
    if (perl !== undefined && Object.hasOwn(PERL_CLASSES, perl.toLowerCase())) {
      const ranges = PERL_CLASSES[perl.toLowerCase()] as readonly Range[]
      parts.push(jsRanges(perl === perl.toLowerCase() ? ranges : complement(ranges)))
      index += 2
      continue
    }
    const lo = classChar()
    let hi = lo
    if (index + 1 < chars.length && chars[index] === '-' && chars[index + 1] !== ']') {
      index++
      hi = classChar()
      if (hi < lo) {
        throw regexpError(`character range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} is out of order`)
      }
    }
    parts.push(jsRanges([[lo, hi]]))
  }
  return [`[${negated ? '^' : ''}${parts.join('')}]`, index]
}

/** Go's \A \z \b \B; without the `m` flag JavaScript's ^ and $ are also start and end of text. */
const GO_ASSERTIONS: Record<string, string> = {A: '^', z: '$', b: '\\b', B: '\\B'}

function goRegexpToJs(source: string): string {
  const chars = Array.from(source)
  let out = ''
  let depth = 0
  let index = 0
  while (index < chars.length) {
    const char = chars[index] as string
    switch (char) {
      case '\\': {
        const next = chars[index + 1]
        if (next !== undefined && Object.hasOwn(GO_ASSERTIONS, next)) {
          out += GO_ASSERTIONS[next]
          index += 2
        } else if (next === 'C') {
          throw regexpError('invalid escape sequence \\C')
        } else if (next === 'Q') {
          // \Q…\E: everything up to \E (or the end) is literal.
          let end = index + 2
          while (end < chars.length && !(chars[end] === '\\' && chars[end + 1] === 'E')) end++
          for (const literal of chars.slice(index + 2, end)) out += jsLiteral(literal.codePointAt(0) as number)
          index = Math.min(end + 2, chars.length)
        } else if (next === 'p' || next === 'P') {
          const [piece, after] = parseGoUnicodeClass(chars, index)
          out += piece
          index = after
        } else if (next !== undefined && Object.hasOwn(PERL_CLASSES, next.toLowerCase())) {
          const ranges = PERL_CLASSES[next.toLowerCase()] as readonly Range[]
          out += `[${next === next.toLowerCase() ? '' : '^'}${jsRanges(ranges)}]`
          index += 2
        } else {
          const [code, after] = parseGoEscape(chars, index)
          out += jsLiteral(code)
          index = after
        }
        break
      }
      case '[': {
        const [piece, after] = translateGoClass(chars, index)
        out += piece
        index = after
        break
      }
      case '.':
        // Go's "." stops only at \n; JavaScript's also stops at \r, U+2028 and U+2029.
        out += '[^\\n]'
        index++
        break
      case '(':
        out += '(?:'
        depth++
        index++
        break
      case ')':
        if (depth === 0) throw regexpError('unexpected )')
        depth--
        out += ')'
        index++
        break
      case '^':
      case '$':
      case '*':
      case '+':
      case '?':
      case '|':
        out += char
        index++
        break
      default:
        out += jsLiteral(char.codePointAt(0) as number)
        index++
    }
  }
  if (depth !== 0) throw regexpError('missing closing )')
  try {
    new RegExp(out, 'u')
  } catch (error) {
    throw regexpError((error as Error).message)
  }
  return out
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
