import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {compileRules, goClean, parseIgnoreFile, type Matcher} from '../../../src/context/dockerignore.js'
import {isKudevError, type KudevError} from '../../../src/output/errors.js'

type Pass = 'exact' | 'inexact' | 'fail'
interface Vectors {
  matches: {pattern: string; text: string; pass: Pass}[]
  multiPattern: {patterns: string[]; text: string; pass: Pass}[]
  single: {test: string; patterns: string[]; text: string; match: boolean}[]
  cleanPatterns: {test: string; patterns: string[]; count: number; exclusions: boolean}[]
  errors: {test: string; patterns: string[]}[]
  filepathMatch: {pattern: string; text: string; match: boolean; error: boolean}[]
  readAll: {content: string; expected: string[]}
}

const VECTORS = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../fixtures/dockerignore/patternmatcher-vectors.json', import.meta.url)),
    'utf8',
  ),
) as Vectors

/** Linux rules, so that the tests read the same on every host. */
const parse = (text: string, file = '.dockerignore') => parseIgnoreFile(text, file, {windows: false})
const matcherOf = (...patterns: string[]): Matcher => compileRules(parse(patterns.join('\n')))
const excluded = (patterns: string[], path: string): boolean => matcherOf(...patterns).matches(path).excluded

function parseError(text: string, file = '.dockerignore'): KudevError {
  try {
    parse(text, file)
  } catch (error) {
    if (isKudevError(error)) return error
    throw error
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`)
}

/** The Go test's walk: each parent folder in turn, each one's state handed to the next. */
function walkDecision(matcher: Matcher, path: string): boolean {
  const parent = path.slice(0, path.lastIndexOf('/') + 1).replace(/\/+$/, '')
  let state
  if (parent !== '') {
    const dirs = parent.split('/')
    for (let index = 0; index < dirs.length; index++)
      state = matcher.matchesWithParent(dirs.slice(0, index + 1).join('/'), state)
  }
  return matcher.matchesWithParent(path, state).excluded
}

describe('context: .dockerignore (moby/patternmatcher vectors)', () => {
  describe('TestMatches: one pattern', () => {
    for (const vector of VECTORS.matches) {
      it(`${vector.pattern} vs ${vector.text} → ${vector.pass}`, () => {
        const matcher = matcherOf(vector.pattern)
        expect(matcher.matchesExact(vector.text), 'MatchesExact').to.equal(vector.pass === 'exact')
        expect(matcher.matchesOrParentMatches(vector.text), 'MatchesOrParentMatches').to.equal(vector.pass !== 'fail')
        expect(walkDecision(matcher, vector.text), 'MatchesUsingParentResults').to.equal(vector.pass !== 'fail')
        expect(matcher.matches(vector.text).excluded, 'matches').to.equal(vector.pass !== 'fail')
      })
    }
  })

  describe('TestMatches: several patterns', () => {
    for (const vector of VECTORS.multiPattern) {
      it(`${vector.patterns.join(', ')} vs ${vector.text} → ${vector.pass}`, () => {
        const matcher = matcherOf(...vector.patterns)
        expect(matcher.matchesOrParentMatches(vector.text), 'MatchesOrParentMatches').to.equal(vector.pass !== 'fail')
        expect(walkDecision(matcher, vector.text), 'MatchesUsingParentResults').to.equal(vector.pass !== 'fail')
        expect(matcher.matches(vector.text).excluded, 'matches').to.equal(vector.pass !== 'fail')
      })
    }
  })

  describe('single-case tests', () => {
    for (const vector of VECTORS.single) {
      it(vector.test, () => {
        expect(excluded(vector.patterns, goClean(vector.text))).to.equal(vector.match)
      })
    }
    for (const vector of VECTORS.cleanPatterns) {
      it(vector.test, () => {
        const matcher = matcherOf(...vector.patterns)
        expect(matcher.rules).to.have.length(vector.count)
        expect(matcher.hasNegations).to.equal(vector.exclusions)
      })
    }
    for (const vector of VECTORS.errors) {
      it(`${vector.test}: refuses ${vector.patterns.join(', ')}`, () => {
        const error = parseError(vector.patterns.join('\n'))
        expect(error.code).to.equal('config')
        expect(error.message).to.match(/^\.dockerignore:1: invalid pattern /)
      })
    }
  })

  describe('TestMatch: filepath.Match vectors', () => {
    for (const vector of VECTORS.filepathMatch) {
      it(`${vector.pattern} vs ${vector.text} → ${vector.error ? 'error' : vector.match}`, () => {
        if (vector.error) {
          expect(parseError(vector.pattern).code).to.equal('config')
          return
        }
        expect(excluded([vector.pattern], goClean(vector.text))).to.equal(vector.match)
      })
    }
  })

  it('ignorefile TestReadAll: trims, drops comments and leading slashes, splits "!"', () => {
    const {content, expected} = VECTORS.readAll
    const beforeLoneBang = content.split('\n').slice(0, 7).join('\n')
    expect(parse(beforeLoneBang).map((rule) => (rule.negated ? '!' : '') + rule.pattern)).to.deep.equal(
      expected.slice(0, 5),
    )
    // ReadAll keeps the lone "!" (lines 8 and 9); patternmatcher.New refuses the first.
    expect(parseError(content).message).to.equal(
      '.dockerignore:8: invalid pattern "!": a lone "!" is an illegal exclusion pattern',
    )
  })
})

describe('context: .dockerignore parsing', () => {
  it('records the cleaned pattern, the text as written, the file and the line', () => {
    expect(parse('# build output\n\n  ./dist/  \n! /docs/../README.md\n', 'ctx/.dockerignore')).to.deep.equal([
      {pattern: 'dist', text: './dist/', negated: false, file: 'ctx/.dockerignore', line: 3},
      {pattern: 'README.md', text: '! /docs/../README.md', negated: true, file: 'ctx/.dockerignore', line: 4},
    ])
  })

  it('strips a UTF-8 BOM and reads CRLF line ends', () => {
    expect(parse('\uFEFFa\r\n#c\r\nb\r\n').map((rule) => [rule.pattern, rule.line])).to.deep.equal([
      ['a', 1],
      ['b', 3],
    ])
  })

  it('treats "#" as a comment only in the first column', () => {
    expect(parse('#x\n  #y').map((rule) => rule.pattern)).to.deep.equal(['#y'])
  })

  it('ignores the pattern "." and keeps the root in the context', () => {
    expect(parse('.\n./\n!.')).to.deep.equal([])
    expect(matcherOf('*', '**').matches('.').excluded).to.equal(false)
    expect(matcherOf('*', '**').matches('').excluded).to.equal(false)
  })

  it('trims Go whitespace, not JavaScript whitespace', () => {
    expect(parse('\u0085a\u00a0').map((rule) => rule.pattern)).to.deep.equal(['a'])
    expect(parse('b\uFEFF\n\uFEFFc').map((rule) => rule.pattern)).to.deep.equal(['b\uFEFF', '\uFEFFc'])
  })

  it('treats "\\" as a path separator with Windows rules', () => {
    const [rule] = parseIgnoreFile('docs\\api\\*.md', '.dockerignore', {windows: true})
    expect(rule?.pattern).to.equal('docs/api/*.md')
  })

  describe('refuses what Docker refuses, naming file and line', () => {
    const cases: [string, string][] = [
      ['!', 'a lone "!" is an illegal exclusion pattern'],
      ['!/', 'a lone "!" is an illegal exclusion pattern'],
      ['[', 'a character class "[" is not closed'],
      ['a[b', 'a character class "[" is not closed'],
      ['foo\\', 'ends with a backslash that escapes nothing'],
      ['foo\\ ', 'ends with a backslash that escapes nothing'],
      ['[]a]', '"]" must be escaped where it starts a character class item'],
      ['[Local-Only]/', 'Docker compiles it to an invalid regular expression (character range l-O is out of order)'],
      ['src/[z-a]*', 'Docker compiles it to an invalid regular expression (character range z-a is out of order)'],
      ['a\\y', 'Docker compiles it to an invalid regular expression (invalid escape sequence \\y)'],
      ['[[:nope:]]', 'Docker compiles it to an invalid regular expression (unknown character class [:nope:])'],
      ['[[:alpha:]', 'Docker compiles it to an invalid regular expression (missing closing ])'],
    ]
    for (const [text, reason] of cases) {
      it(JSON.stringify(text), () => {
        const error = parseError(`ok\n${text}`, '/p/.dockerignore')
        expect(error.code).to.equal('config')
        expect(error.message).to.equal(`/p/.dockerignore:2: invalid pattern "${text.trim()}": ${reason}`)
        expect(error.hint).to.be.a('string').and.not.equal('')
        expect(error.data).to.deep.equal({file: '/p/.dockerignore', line: 2, pattern: text.trim()})
      })
    }
  })

  it('refuses invalid rules handed to compileRules directly', () => {
    const rule = {pattern: '[b-a]', text: '[b-a]', negated: false, file: 'x', line: 7}
    expect(() => compileRules([rule])).to.throw(/^x:7: invalid pattern "\[b-a\]"/)
  })
})

describe('context: .dockerignore matching', () => {
  it('reports the deciding rule: the last one that matched the path or a parent folder', () => {
    const matcher = matcherOf('docs', '*.md', '!docs/README.md')
    expect(matcher.matches('docs/guide.md')).to.deep.include({excluded: true})
    expect(matcher.matches('docs/guide.md').rule?.line).to.equal(1)
    expect(matcher.matches('notes.md').rule?.line).to.equal(2)
    const readme = matcher.matches('docs/README.md')
    expect(readme.excluded).to.equal(false)
    expect(readme.rule).to.include({negated: true, line: 3})
    expect(matcher.matches('src/main.go')).to.deep.equal({excluded: false})
  })

  it('keeps the suffix quirk: "**file" matches "myfile" and "**.git" matches "x.git"', () => {
    expect(excluded(['**file'], 'dir/myfile')).to.equal(true)
    expect(excluded(['**.git'], 'x.git')).to.equal(true)
    expect(excluded(['**/file'], 'dir/myfile')).to.equal(false)
  })

  // What the Go syntax passed through means: test/unit/context/go-regexp.test.ts.
  it('passes Go regexp syntax through, as Docker does', () => {
    expect(excluded(['a^b*'], 'a^bc'), 'a bare ^ is an anchor in a regexp pattern').to.equal(false)
    expect(excluded(['a^b'], 'a^b'), 'but literal in an exact pattern').to.equal(true)
  })

  it('escapes the regexp characters of a literal pattern', () => {
    expect(excluded(['a+b*'], 'a+bc')).to.equal(true)
    expect(excluded(['a|b*'], 'axe')).to.equal(false)
    expect(excluded(['{a,b}*'], 'a')).to.equal(false)
  })

  describe('matchesWithParent (the walker variant)', () => {
    const trees = [
      'a',
      'a/b',
      'a/b/c.txt',
      'a/b/d',
      'a/b/d/e.py',
      'docs',
      'docs/README.md',
      'docs/x/y.md',
      'web',
      'web/x/y',
    ]
    const ruleSets = [
      ['**', '!web'],
      ['docs', '!docs/README.md'],
      ['*', '!**/*.py'],
      ['a/b', '!a/b/d/*.py', 'a/b/d/e.py'],
      ['**/*.md', '!docs/**', 'docs/x'],
    ]
    for (const patterns of ruleSets) {
      it(`reuses the parent's state and agrees with matches(): ${patterns.join(', ')}`, () => {
        const matcher = matcherOf(...patterns)
        const states = new Map<string, ReturnType<Matcher['matchesWithParent']>>()
        for (const path of trees) {
          const parentPath = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : undefined
          const state = matcher.matchesWithParent(path, parentPath === undefined ? undefined : states.get(parentPath))
          states.set(path, state)
          expect(state.excluded, path).to.equal(matcher.matches(path).excluded)
          expect(state.rule, path).to.equal(matcher.matches(path).rule)
        }
      })
    }

    it("tests only the path itself, starting from the parent's per-rule results", () => {
      const matcher = matcherOf('docs', '!docs/README.md')
      const docs = matcher.matchesWithParent('docs')
      const src = matcher.matchesWithParent('src')
      expect(matcher.matchesWithParent('docs/a.md', docs).excluded).to.equal(true)
      // Handed another folder's state, the answer follows that state: nothing re-tests "docs".
      expect(matcher.matchesWithParent('docs/a.md', src).excluded).to.equal(false)
    })

    it('follows the BuildKit walk where it differs from MatchesOrParentMatches', () => {
      // A rule that was skipped at the folder is only tested against the entry itself (fsutil).
      const skippedAtFolder = matcherOf('d/c', '!d')
      expect(skippedAtFolder.matchesOrParentMatches('d/c')).to.equal(false)
      expect(skippedAtFolder.matches('d/c').excluded).to.equal(true)
      const reincluded = matcherOf('d', '!d/c', 'd')
      expect(reincluded.matchesOrParentMatches('d/c')).to.equal(true)
      expect(reincluded.matches('d/c').excluded).to.equal(false)
    })

    it('walks 100k entries with a few patterns quickly', () => {
      const matcher = matcherOf('**/node_modules', '*.log', 'build/**', '!build/keep', 'docs/*.md', '**/*.tmp')
      const started = performance.now()
      let excludedCount = 0
      for (let top = 0; top < 100; top++) {
        const dir = matcher.matchesWithParent(`pkg${top}`)
        for (let sub = 0; sub < 10; sub++) {
          const subdir = matcher.matchesWithParent(`pkg${top}/src${sub}`, dir)
          for (let file = 0; file < 100; file++) {
            if (
              matcher.matchesWithParent(`pkg${top}/src${sub}/file${file}.${file % 2 ? 'ts' : 'tmp'}`, subdir).excluded
            )
              excludedCount++
          }
        }
      }
      expect(excludedCount).to.equal(50_000)
      expect(performance.now() - started).to.be.below(2000)
    })
  })

  describe('mayReincludeBelow', () => {
    const cases: [string[], string, boolean][] = [
      [['node_modules'], 'node_modules', false],
      [['node_modules', '!node_modules/keep.js'], 'node_modules', true],
      [['node_modules', '!node_modules/keep.js'], 'vendor', false],
      [['docs', '!docs'], 'docs/x', false],
      [['*', '!src/**'], 'lib', false],
      [['*', '!src/**'], 'src', true],
      [['*', '!s**'], 'src', true],
      [['*', '!**/*.py'], 'anything/deep', true],
      [['*', '!**.py'], 'anything', true],
      [['*', '!docker/*/Dockerfile'], 'docker', true],
      [['*', '!docker/*/Dockerfile'], 'docker/app', true],
      [['*', '!docker/*/Dockerfile'], 'docker/app/Dockerfile', false],
      [['*', '!docker/*/Dockerfile'], 'other', false],
      [['*', '!*/keep'], 'a/b', false],
      [['*', '!*/keep'], 'a', true],
      [['dir', '!dir*/file1'], 'dir', true],
      [['*', '!x[^a]y'], 'x', true],
    ]
    for (const [patterns, dir, expected] of cases) {
      it(`${patterns.join(', ')}: below ${dir} → ${expected}`, () => {
        expect(matcherOf(...patterns).mayReincludeBelow(dir)).to.equal(expected)
      })
    }

    it('never says false when something below is re-included (exhaustive over a small tree)', () => {
      const names = ['a', 'b', 'ab', 'x.py', 'keep']
      const paths: string[] = []
      const grow = (prefix: string, depth: number): void => {
        for (const name of names) {
          const path = prefix === '' ? name : `${prefix}/${name}`
          paths.push(path)
          if (depth < 3) grow(path, depth + 1)
        }
      }
      grow('', 1)
      const negations = [
        '!a',
        '!a/b',
        '!a/**',
        '!a*',
        '!**/x.py',
        '!*/keep',
        '!a/*/keep',
        '!?b/a',
        '!a/b/ab',
        '!**/b/*',
        '!b**',
        '![ab]/x.py',
      ]
      for (const first of ['*', 'a', '**', 'a/b', '*/*']) {
        for (const negation of negations) {
          for (const last of [undefined, 'a/b', '**/keep']) {
            const patterns = last === undefined ? [first, negation] : [first, negation, last]
            const matcher = matcherOf(...patterns)
            for (const dir of paths) {
              if (!matcher.matches(dir).excluded || matcher.mayReincludeBelow(dir)) continue
              const back = paths.find((path) => path.startsWith(dir + '/') && !matcher.matches(path).excluded)
              expect(back, `${patterns.join(', ')}: ${back} is back below ${dir}`).to.equal(undefined)
            }
          }
        }
      }
    })
  })
})

describe('context: Docker vs gitignore (research table, column D)', () => {
  const rows: [number, string[], string, boolean][] = [
    [1, ['node_modules'], 'a/node_modules/x.js', false],
    [2, ['*.log'], 'a/b.log', false],
    [3, ['*.md', '!README.md'], 'docs/notes.md', false],
    [4, ['**/node_modules'], 'a/b/node_modules/x', true],
    [5, ['foo/'], 'foo', true],
    [6, ['.*/'], '.env', true],
    [7, ['/foo'], 'a/foo', false],
    [8, ['foo/**'], 'foo', false],
    [9, ['*/temp*'], 'somedir/temporary.txt', true],
    [9, ['*/temp*'], 'a/b/temp', false],
    [10, ['temp?'], 'a/tempb', false],
    [11, ['docs', '!docs/README.md'], 'docs/README.md', false],
    [12, ['*', '!src/**'], 'src/a/b.go', false],
    [13, ['*', '!**/*.py'], 'sub/x.py', false],
    [14, ['*', '!docker/*/Dockerfile'], 'docker/app/Dockerfile', false],
    [15, ['dir', '!dir*/file1'], 'dir/file1', false],
    [16, ['*', '!*.go'], 'a/b.go', true],
    [17, ['**', '!web'], 'web/x/y', false],
    [18, ['ignored/*', '!ignored/*/'], 'ignored/file', false],
    [19, ['a**/*.txt'], 'a/dir/file.txt', true],
    [20, ['a**b'], 'axb', false],
    [21, ['[!a]bc'], 'xbc', false],
    [22, ['README.md'], 'readme.md', false],
    [23, [' foo'], 'foo', true],
    [24, ['./node_modules'], 'node_modules/x', true],
    [24, ['foo/../bar'], 'bar', true],
  ]
  for (const [row, patterns, path, expected] of rows) {
    it(`#${row}: ${patterns.join(', ')} → ${path} ${expected ? 'excluded' : 'kept'}`, () => {
      expect(excluded(patterns, path)).to.equal(expected)
    })
  }

  it('#11: the excluded folder of a re-included file is itself excluded (the walker still sends it)', () => {
    const matcher = matcherOf('docs', '!docs/README.md')
    expect(matcher.matches('docs').excluded).to.equal(true)
    expect(matcher.mayReincludeBelow('docs')).to.equal(true)
  })

  it('#25: "!", "[" and "foo\\ " fail the build', () => {
    for (const text of ['!', '[', 'foo\\ ']) expect(parseError(text).code, text).to.equal('config')
  })
})
