/**
 * One .dockerignore pattern, compiled as moby/patternmatcher's `compile` does: Go's filepath.Match syntax
 * check, then a match kind and, for `regexp`, the Go regular-expression text patternmatcher builds, which
 * src/context/go-regexp.ts turns into a JavaScript RegExp. Keeping the Go text as a step keeps the quirks
 * (classes passed through, `\d` meaning a digit, `[Local-Only]` failing) where Docker has them, and lets
 * the upstream compile tests check it.
 */
import {compileGoRegexp, GoRegexpError} from './go-regexp.js'

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

/** A pattern Docker refuses; src/context/dockerignore.ts names the file and line. */
export class PatternError extends Error {
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

/** Go's filepath.Match(pattern, ".") returns ErrBadPattern for exactly these. */
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

/** Escaped by patternmatcher; other regexp syntax in a pattern reaches the regexp as written. */
const REGEXP_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$'])

/** The match kind and, for `regexp`, the Go regexp text patternmatcher builds. */
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
      const regexp = compileRegexp(source)
      return {kind, goRegexp: source, regexp, test: (path) => regexp.test(path)}
    }
  }
}

function compileRegexp(source: string): RegExp {
  try {
    return compileGoRegexp(source)
  } catch (error) {
    if (!(error instanceof GoRegexpError)) throw error
    throw new PatternError(`Docker compiles it to an invalid regular expression (${error.message})`, HINT_REGEXP)
  }
}
