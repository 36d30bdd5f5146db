/** Docker colours a RUN step's stderr in classic output; kudev shows and parses plain text. */
export function stripAnsi(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replaceAll(/\u001B\[[0-9;?]*[A-Za-z]/g, '').replace(/\r+$/, '')
}

export interface BuildFailure {
  /** `Step 3/4 : RUN make` (classic) or `#6 [3/4] RUN make` (BuildKit); undefined when no step had started (e.g. a Dockerfile syntax error). */
  step?: string
  /** docker's own reason: BuildKit's ERROR line, else the last line of output. */
  reason?: string
}

const TAIL = 15
const CLASSIC_STEP = /^Step \d+\/\d+ : /
// `#5 [2/4] RUN make`, `#5 0.120 output`, `#5 DONE 0.1s`: the first line of a vertex number names it.
const BUILDKIT_LINE = /^#(\d+) (.*)$/
const BUILDKIT_NOISE = /^#\d+ sha256:[0-9a-f]{64}$/
const ERROR_PREFIX = /^(?:Error response from daemon|ERROR|error): /
// CLI 23+ without buildx opens every classic build with a four-line notice (text, two indented lines, a blank).
const DEPRECATED = /^DEPRECATED: The legacy builder is deprecated/
const NOTICE_CONTINUED = /^\s+\S|^\s*$/

/**
 * Follows `docker build` output line by line, in either format: the classic builder's `Step N/M : …`
 * or BuildKit's plain progress (`#N …`), keeping what a failure report needs: the step that failed and the
 * last lines.
 */
export class BuildOutput {
  private readonly recent: string[] = []
  private classicStep?: string
  private readonly vertices = new Map<string, string>()
  private failedVertex?: {step: string; reason: string}
  private inNotice = false
  /** The CLI's deprecation notice, folded into one line (for -v): not build output. */
  notice?: string

  /** Takes one raw line and returns it as shown to users (colours removed); undefined for a line folded away. */
  add(raw: string): string | undefined {
    const line = stripAnsi(raw)
    if (this.notice === undefined && DEPRECATED.test(line)) {
      this.inNotice = true
      this.notice = line
      return undefined
    }

    if (this.inNotice && NOTICE_CONTINUED.test(line)) {
      if (line.trim() !== '') this.notice += ` ${line.trim()}`
      return undefined
    }

    this.inNotice = false
    if (line.trim() === '' || BUILDKIT_NOISE.test(line)) return line
    this.recent.push(line)
    if (this.recent.length > TAIL) this.recent.shift()
    if (CLASSIC_STEP.test(line)) {
      this.classicStep = line
      return line
    }

    const [, number, text = ''] = BUILDKIT_LINE.exec(line) ?? []
    if (number === undefined) return line
    const name = this.vertices.get(number)
    if (name === undefined) this.vertices.set(number, text)
    else if (text.startsWith('ERROR: '))
      this.failedVertex ??= {reason: text.slice('ERROR: '.length), step: `#${number} ${name}`}
    return line
  }

  /** The last lines of output, for an error's details. */
  get tail(): string[] {
    return [...this.recent]
  }

  /**
   * Why the build failed. The classic builder stops at the failing step, so that is the last one it
   * started; BuildKit runs steps in parallel and marks the failing one with `#N ERROR:`.
   */
  failure(): BuildFailure {
    if (this.failedVertex) return this.failedVertex
    const last = this.recent
      .findLast((line) => !/^-+$/.test(line.trim()))
      ?.trim()
      .replace(ERROR_PREFIX, '')
    return {reason: last === this.classicStep ? undefined : last, step: this.classicStep}
  }
}
