import {expect} from 'chai'
import path from 'node:path'

import {loadConfig, type Problem} from '../../../src/config/index.js'
import {errorJson} from '../../../src/output/report.js'
import {rejection, tempDirs} from './helpers.js'

const HEAD = ['apiVersion: kudev.io/v1alpha1', 'kind: DeploymentConfig', 'metadata:', '  name: app', 'spec:']

interface Said {
  /** The message after `<file>:`. */
  message: string
  excerpt: string[]
  hint: string
}

describe('config: YAML syntax errors', () => {
  const temp = tempDirs()
  afterEach(() => temp.cleanup())

  /** Writes the lines as a real .kudev.yaml and loads it as a command does. */
  async function said(lines: string[]): Promise<Said> {
    const dir = await temp.make({'.kudev.yaml': lines.join('\n') + '\n', Dockerfile: ''})
    const file = path.join(dir, '.kudev.yaml')
    const error = await rejection(loadConfig({cwd: dir}))
    expect(error.code).to.equal('config')
    expect(error.exitCode).to.equal(1)
    expect(error.message.startsWith(`${file}:`), error.message).to.equal(true)
    expect(error.hint).to.be.a('string')
    return {message: error.message.slice(file.length + 1), excerpt: error.details, hint: error.hint ?? ''}
  }

  it('points at a line indented under a field that already has its value, not at that value', async () => {
    expect(await said([...HEAD, '  imageName: a', '      buildContext: app'])).to.deep.equal({
      message: '7:7 `buildContext` is indented more than line 6, so YAML reads it as part of the value there',
      excerpt: ['7 |       buildContext: app', '  |       ^'],
      hint: 'start `buildContext` in the same column as `imageName` on line 6 (column 3)',
    })
    const nested = await said([...HEAD, '  imageName: a', '  buildArgs:', '    A: one', '     B: two'])
    expect(nested.message).to.equal('9:6 `B` is indented more than line 8, so YAML reads it as part of the value there')
    expect(nested.hint).to.equal('start `B` in the same column as `A` on line 8 (column 5)')
  })

  it('points at a line out of line with the fields it belongs with', async () => {
    expect(await said([...HEAD, '  imageName: a', '', ' buildContext: app'])).to.deep.equal({
      message: '8:2 `buildContext` is not lined up with the lines above it',
      excerpt: ['8 |  buildContext: app', '  |  ^'],
      hint: 'indent it with spaces to the column of the fields it belongs with (line 6 starts in column 3)',
    })
    // After a quoted value the parser says so differently, and so does kudev: the line is simply out of line.
    const quoted = await said([...HEAD, '  imageName: "a"', '      target: dev'])
    expect(quoted.message).to.equal('7:7 `target` is not lined up with the lines above it')
  })

  it('points at a list item out of line with the items above it', async () => {
    const {message, excerpt} = await said([...HEAD, '  imageName: a', '  buildContextExclusions:', '    - a', '   - b'])
    expect(message).to.equal('9:4 this list item is not lined up with the lines above it')
    expect(excerpt).to.deep.equal(['9 |    - b', '  |    ^'])
  })

  it('says a tab indents the line, with the caret under the tab', async () => {
    expect(await said([...HEAD, '  imageName: a', '  \tbuildContext: app'])).to.deep.equal({
      message: '7:3 a tab indents this line; YAML indents with spaces only',
      // Tabs are shown as four spaces so the caret stays under the character it means.
      excerpt: ['7 |       buildContext: app', '  |   ^'],
      hint: 'replace the tab with spaces, lining the line up with the others at its level',
    })
  })

  it('points at the bracket or brace that is never closed, not where the parser gave up', async () => {
    const list = await said([...HEAD, '  imageName: a', '  buildContextExclusions: [.git, tmp', '  target: dev'])
    expect(list.message).to.equal("7:27 this '[' is never closed: ']' is missing")
    expect(list.excerpt).to.deep.equal(['7 |   buildContextExclusions: [.git, tmp', '  |                           ^'])
    expect(list.hint).to.include("with ']' on the same line")

    const atEnd = await said([...HEAD, '  imageName: a', '  buildArgs: {A: "1"'])
    expect(atEnd.message).to.equal("7:14 this '{' is never closed: '}' is missing")

    const wrongCloser = await said([...HEAD, '  imageName: a', '  buildArgs: {A: [1, 2}'])
    expect(wrongCloser.message).to.equal("7:18 this '[' is never closed: ']' is missing")
  })

  it('points at the quote that is never closed', async () => {
    for (const quote of ['"', "'"]) {
      expect(await said([...HEAD, `  imageName: ${quote}app`, '  target: dev'])).to.deep.equal({
        message: `6:14 the value that opens with this ${quote} has no closing ${quote}`,
        excerpt: [`6 |   imageName: ${quote}app`, '  |              ^'],
        hint: `end the value with ${quote} on the same line`,
      })
    }
  })

  it('says a colon needs a space after it, wherever the field is', async () => {
    for (const lines of [
      [...HEAD, '  imageName:app', '  target: dev'],
      [...HEAD, '  target: dev', '  imageName:app'],
    ]) {
      const {message, excerpt, hint} = await said(lines)
      expect(message).to.match(/^[67]:12 missing space after ':'; YAML reads `imageName:app` as one word/)
      expect(excerpt[1]).to.equal('  |            ^')
      expect(hint).to.equal('put a space after the colon: `imageName: app`')
    }
  })

  it('says a field has no colon', async () => {
    const {message, hint} = await said([...HEAD, '  imageName', '  target: dev'])
    expect(message).to.equal("6:12 `imageName` has no ':' after it; a field is written `name: value`")
    expect(hint).to.equal("add ':' after `imageName`, then its value (or delete the line)")
  })

  it("says a value holding ': ' or starting with a reserved character needs quotes", async () => {
    const colon = await said([...HEAD, '  imageName: my: app # the image'])
    expect(colon.message).to.equal("6:16 the value contains ': ', which YAML reads as the start of a nested mapping")
    expect(colon.hint).to.equal('put the value in quotes: "my: app"')
    const at = await said([...HEAD, '  imageName: @app'])
    expect(at.message).to.equal("6:14 a value cannot start with '@' unless it is quoted")
    expect(at.hint).to.equal('put the value in quotes: "@app"')
  })

  it('reports only the first syntax error: what follows it is mostly its echo', async () => {
    const dir = await temp.make({
      '.kudev.yaml': [...HEAD, '  buildContextExclusions: [a, b', '  target: x', '  platform: y'].join('\n'),
    })
    const error = await rejection(loadConfig({cwd: dir}))
    const problems = error.data?.problems as Problem[]
    expect(problems).to.have.length(1)
    expect(problems[0]).to.include({line: 6, col: 27, path: ''})
    expect(problems[0]?.excerpt).to.deep.equal(error.details)
  })

  it('keeps the parser’s own words for an error it has no plainer ones for', async () => {
    const {message, hint} = await said([...HEAD, '  imageName: "a\\q"'])
    expect(message).to.equal('6:16 Invalid escape sequence \\q')
    expect(hint).to.include('fix the YAML at the position shown')
  })

  it('gives --json one document carrying the excerpt', async () => {
    const dir = await temp.make({'.kudev.yaml': [...HEAD, '\timageName: a'].join('\n')})
    const json = errorJson(await rejection(loadConfig({cwd: dir})))
    const parsed = JSON.parse(JSON.stringify(json)) as {error: {details: string[]; exitCode: number}}
    expect(parsed.error.exitCode).to.equal(1)
    expect(parsed.error.details).to.deep.equal(['6 |     imageName: a', '  | ^'])
  })
})
