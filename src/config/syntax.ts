import type {CST, LineCounter, YAMLError} from 'yaml'

/** A YAML syntax error said for a person editing a .kudev.yaml: where to look, what is wrong, what to do. */
export interface SyntaxReport {
  /** Where the mistake is, which is often before where the parser noticed it. */
  offset: number
  message: string
  hint: string
}

const SYNTAX_HINT =
  "fix the YAML at the position shown: indent with spaces, and quote values that contain ': ' or start with * & ! { [ or %"

interface Line {
  number: number
  start: number
  text: string
  /** Offset of the first character that is not a space or a tab; `start + text.length` on a blank line. */
  content: number
}

function lineAt(text: string, lines: LineCounter, offset: number): Line {
  const number = Math.max(lines.linePos(offset).line, 1)
  const start = lines.lineStarts[number - 1] ?? 0
  const next = lines.lineStarts[number] ?? text.length + 1
  const line = text.slice(start, next - 1).replace(/\r$/, '')
  return {number, start, text: line, content: start + (line.length - line.trimStart().length)}
}

const column = (line: Line, offset: number): number => offset - line.start + 1

/** The name a line sets, when it reads `name: …` (or `- name: …`). */
function keyOf(line: Line): string | undefined {
  return /^\s*(?:-\s+)?([^\s:#'"][^:#]*?):(?:\s|$)/.exec(line.text)?.[1]
}

/** Every CST token, in document order; the tree is plain objects, so one walk finds flow collections and scalars. */
function* walk(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) {
    for (const item of node) yield* walk(item)
  } else if (node !== null && typeof node === 'object') {
    yield node as Record<string, unknown>
    for (const value of Object.values(node)) yield* walk(value)
  }
}

/** The innermost `[` or `{` opened before `offset` that the parser never saw closed. */
function unclosedFlow(tokens: CST.Token[], offset: number): CST.FlowCollection | undefined {
  let found: CST.FlowCollection | undefined
  for (const token of walk(tokens)) {
    if (token.type !== 'flow-collection') continue
    const flow = token as unknown as CST.FlowCollection
    // `[a, b}` is closed by the wrong bracket: the parser ends the list there, but the `[` still wants its `]`.
    const closer = flow.start.source === '[' ? 'flow-seq-end' : 'flow-map-end'
    const closed = flow.end.some((end) => end.type === closer)
    if (!closed && flow.start.offset < offset && (found === undefined || flow.start.offset > found.start.offset))
      found = flow
  }
  return found
}

/** The quoted value ending at `offset` without its closing quote. */
function unclosedQuote(tokens: CST.Token[], offset: number): CST.FlowScalar | undefined {
  for (const token of walk(tokens)) {
    if (token.type !== 'double-quoted-scalar' && token.type !== 'single-quoted-scalar') continue
    const scalar = token as unknown as CST.FlowScalar
    const closed =
      scalar.type === 'double-quoted-scalar'
        ? /^"(?:[^"\\]|\\.)*"$/s.test(scalar.source)
        : /^'(?:[^']|'')*'$/s.test(scalar.source)
    if (!closed && scalar.offset + scalar.source.length === offset) return scalar
  }
  return undefined
}

/**
 * The parser's view of a line that should have been a `name: value` field but did not read as one:
 * `name:value` (no space, so one word) or `name` alone.
 */
function notAField(line: Line, offset: number): SyntaxReport | undefined {
  const rest = line.text.slice(offset - line.start)
  const glued = /^([^\s:#'"][^\s:]*):(?=[^\s:])/.exec(rest)
  if (glued) {
    const [word, key = ''] = glued
    const value = rest.slice(word.length).trimEnd()
    return {
      offset: offset + key.length,
      message: `missing space after ':'; YAML reads \`${rest.trimEnd()}\` as one word, not as the field ${key}`,
      hint: `put a space after the colon: \`${key}: ${value}\``,
    }
  }
  const bare = /^[^\s:#'"-][^:#]*?(?=\s*(?:#|$))/.exec(rest)?.[0]
  if (bare) {
    return {
      offset: offset + bare.length,
      message: `\`${bare}\` has no ':' after it; a field is written \`name: value\``,
      hint: `add ':' after \`${bare}\`, then its value (or delete the line)`,
    }
  }
  return undefined
}

/** The text of a value from `offset` to the end of its line, without a trailing comment. */
const valueFrom = (line: Line, offset: number): string =>
  line.text
    .slice(offset - line.start)
    .replace(/\s+#.*$/, '')
    .trim()

/**
 * Says one of the `yaml` package's errors in the words of a .kudev.yaml, by its code and the tokens
 * around it; an error this does not know keeps the package's own message.
 */
export function explainSyntaxError(
  error: YAMLError,
  errors: readonly YAMLError[],
  text: string,
  lines: LineCounter,
  tokens: CST.Token[],
): SyntaxReport {
  const [at, end] = error.pos
  const line = lineAt(text, lines, at)
  // A position in the indentation (or on a blank line before) means the whole line is out of place: show
  // where its content starts.
  const skipped = text.slice(at).search(/\S/)
  const content = skipped === -1 ? at : at + skipped
  const contentLine = lineAt(text, lines, content)
  const fallback: SyntaxReport = {offset: at, message: error.message, hint: SYNTAX_HINT}

  switch (error.code) {
    case 'TAB_AS_INDENT':
      return {
        offset: at,
        message: 'a tab indents this line; YAML indents with spaces only',
        hint: 'replace the tab with spaces, lining the line up with the others at its level',
      }

    case 'BAD_INDENT':
    case 'MISSING_CHAR': {
      const quote = unclosedQuote(tokens, at)
      if (quote) {
        const mark = quote.source[0]
        return {
          offset: quote.offset,
          message: `the value that opens with this ${mark} has no closing ${mark}`,
          hint: `end the value with ${mark} on the same line`,
        }
      }
      const flow = unclosedFlow(tokens, at)
      if (flow) {
        const [open, close] = flow.start.source === '[' ? ['[', ']'] : ['{', '}']
        const example = open === '[' ? '[a, b]' : '{A: "1"}'
        const block = open === '[' ? 'one `- item` per line' : 'one `name: value` per line'
        return {
          offset: flow.start.offset,
          message: `this '${open}' is never closed: '${close}' is missing`,
          hint: `close it with '${close}' on the same line, as in ${example}, or write it as ${block} below its field`,
        }
      }
      if (error.code === 'MISSING_CHAR' && text[at] === '#') {
        return {
          offset: at,
          message: "'#' starts a comment only after a space, and here it follows the value directly",
          hint: 'put a space before the #, or quote the value if the # belongs to it',
        }
      }
      if (error.code === 'MISSING_CHAR') return notAField(line, at) ?? fallback
      const key = keyOf(contentLine)
      const above = previousContent(text, lines, contentLine)
      return {
        offset: content,
        message: `${key === undefined ? 'this line' : `\`${key}\``} is not lined up with the lines above it`,
        hint:
          above === undefined
            ? 'indent it with spaces to the column of the fields it belongs with'
            : `indent it with spaces to the column of the fields it belongs with (line ${above.number} starts in column ${column(above, above.content)})`,
      }
    }

    case 'MULTILINE_IMPLICIT_KEY': {
      // The parser read two lines as one key: either the second is indented under a value, or the first lacks `: `.
      const last = lineAt(text, lines, end)
      if (last.number > line.number && last.content - last.start > line.content - line.start) {
        const key = keyOf(last) ?? last.text.trim()
        const owner = keyOf(line)
        return {
          offset: last.content,
          message: `\`${key}\` is indented more than line ${line.number}, so YAML reads it as part of the value there`,
          hint:
            owner === undefined
              ? `start \`${key}\` in the same column as the other fields of its mapping`
              : `start \`${key}\` in the same column as \`${owner}\` on line ${line.number} (column ${column(line, line.content)})`,
        }
      }
      return notAField(line, at) ?? fallback
    }

    case 'BLOCK_AS_IMPLICIT_KEY': {
      const sameKey = errors.find((other) => other.code === 'MULTILINE_IMPLICIT_KEY' && other.pos[0] === at)
      if (sameKey) return explainSyntaxError(sameKey, errors, text, lines, tokens)
      if (text[content] === '-' && content === contentLine.content) {
        return {
          offset: content,
          message: 'this list item is not lined up with the lines above it',
          hint: "start every '- ' of a list in the same column, indented under the field that holds the list",
        }
      }
      const value = valueFrom(line, at)
      const colon = line.text.indexOf(': ', at - line.start)
      return {
        offset: colon === -1 ? at : line.start + colon,
        message: "the value contains ': ', which YAML reads as the start of a nested mapping",
        hint: `put the value in quotes: ${JSON.stringify(value)}`,
      }
    }

    case 'BAD_SCALAR_START': {
      const value = valueFrom(line, at)
      return {
        offset: at,
        message: `a value cannot start with '${text[at]}' unless it is quoted`,
        hint: `put the value in quotes: ${JSON.stringify(value)}`,
      }
    }

    case 'UNEXPECTED_TOKEN': {
      const before = text.slice(line.start, at).trimEnd()
      const quote = before.at(-1)
      if (quote !== '"' && quote !== "'") return fallback
      return {
        offset: at,
        message: `text follows the closing ${quote} of the value`,
        hint: `put the whole value inside the quotes, or remove them`,
      }
    }

    case 'DUPLICATE_KEY':
      return {
        offset: at,
        message: 'this key is already set earlier in the same mapping',
        hint: 'keep one of the two, with the value you mean',
      }

    case 'MULTIPLE_DOCS':
      return {
        offset: at,
        message: 'a .kudev.yaml holds a single document; remove the `---` separator and what follows it',
        hint: 'move the second document to its own file, or delete it',
      }

    default:
      return fallback
  }
}

/** The nearest line above `line` that holds more than blanks or a comment. */
function previousContent(text: string, lines: LineCounter, line: Line): Line | undefined {
  for (let number = line.number - 1; number >= 1; number--) {
    const above = lineAt(text, lines, lines.lineStarts[number - 1] ?? 0)
    const trimmed = above.text.trim()
    if (trimmed !== '' && !trimmed.startsWith('#')) return above
  }
  return undefined
}

const TAB_WIDTH = 4

/**
 * The line holding `offset`, numbered, with a caret under its column, as compilers show it. Tabs are
 * shown as spaces so that the caret lands under the right character.
 */
export function excerpt(text: string, lines: LineCounter, offset: number): string[] {
  const line = lineAt(text, lines, offset)
  const expand = (part: string): string => part.replaceAll('\t', ' '.repeat(TAB_WIDTH))
  const number = String(line.number)
  const gutter = ' '.repeat(number.length)
  const before = expand(line.text.slice(0, offset - line.start))
  return [`${number} | ${expand(line.text)}`, `${gutter} | ${' '.repeat(before.length)}^`]
}
