/**
 * Go regular expressions (RE2 syntax) as JavaScript RegExps, for the text moby/patternmatcher builds from a
 * .dockerignore pattern (src/context/pattern.ts). Covers everything that text can contain: literals and
 * escapes, classes with ranges, POSIX ([:alpha:]), Perl (\d) and Unicode (\pL) classes, `.`, `^`, `$`,
 * groups, \A \z \b \B \Q…\E. Fails where Go's regexp.Compile fails, so what Docker cannot compile is
 * refused here too.
 */

/** Where Go's regexp.Compile would fail; the message is the reason. */
export class GoRegexpError extends Error {}

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

/** Go's parseEscape: `chars[start]` is the backslash. Returns the code point and the next index. */
function parseGoEscape(chars: readonly string[], start: number): [number, number] {
  const char = chars[start + 1]
  if (char === undefined) throw new GoRegexpError('trailing backslash')
  let index = start + 2
  const invalid = (): GoRegexpError => new GoRegexpError(`invalid escape sequence \\${char}`)
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
    if (end < 0) throw new GoRegexpError('\\p{ is not closed')
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
  throw new GoRegexpError(`unknown Unicode class \\p{${name}}`)
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
  const missingBracket = (): GoRegexpError => new GoRegexpError('missing closing ]')
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
        if (ranges === undefined) throw new GoRegexpError(`unknown character class [:${name}:]`)
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
        throw new GoRegexpError(
          `character range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} is out of order`,
        )
      }
    }
    parts.push(jsRanges([[lo, hi]]))
  }
  return [`[${negated ? '^' : ''}${parts.join('')}]`, index]
}

/** Go's \A \z \b \B; without the `m` flag JavaScript's ^ and $ are also start and end of text. */
const GO_ASSERTIONS: Record<string, string> = {A: '^', z: '$', b: '\\b', B: '\\B'}

/** Go's regexp.Compile, giving the JavaScript RegExp (flag `u`) that matches the same strings. */
export function compileGoRegexp(source: string): RegExp {
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
          throw new GoRegexpError('invalid escape sequence \\C')
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
        if (depth === 0) throw new GoRegexpError('unexpected )')
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
  if (depth !== 0) throw new GoRegexpError('missing closing )')
  try {
    return new RegExp(out, 'u')
  } catch (error) {
    throw new GoRegexpError((error as Error).message)
  }
}
