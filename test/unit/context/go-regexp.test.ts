import {expect} from 'chai'

import {compileGoRegexp, GoRegexpError} from '../../../src/context/go-regexp.js'

/** Does the Go regexp `source` match `text`? */
const matches = (source: string, text: string): boolean => compileGoRegexp(source).test(text)

function compileError(source: string): string {
  try {
    compileGoRegexp(source)
  } catch (error) {
    if (error instanceof GoRegexpError) return error.message
    throw error
  }
  throw new Error(`expected ${JSON.stringify(source)} to be refused`)
}

describe('context: Go regexp → JavaScript RegExp', () => {
  it('reads the Go syntax a .dockerignore pattern passes through', () => {
    // The text patternmatcher builds for `a\d`, `[[:digit:]]*`, `x[^a]y`, `a\12` and `a?b`.
    expect(matches('^a\\d$', 'a7'), '\\d is a digit class').to.equal(true)
    expect(matches('^a\\d$', 'ad')).to.equal(false)
    expect(matches('^[[:digit:]][^/]*$', '9lives')).to.equal(true)
    expect(matches('^x[^a]y$', 'x/y'), 'a negated class matches "/"').to.equal(true)
    expect(matches('^a\\12$', 'a\n'), 'octal escape').to.equal(true)
    expect(matches('^a[^/]b$', 'a😀b'), '"[^/]" is one code point').to.equal(true)
  })

  it('keeps the places where Go and JavaScript differ', () => {
    expect(matches('^a.b$', 'a\rb'), 'Go\'s "." stops only at \\n').to.equal(true)
    expect(matches('^a.b$', 'a\nb')).to.equal(false)
    expect(matches('^\\s$', '\v'), "Go's \\s has no \\v").to.equal(false)
    expect(matches('^\\w$', 'é'), 'Perl classes are ASCII').to.equal(false)
    expect(matches('^[[:^alpha:]]$', '1')).to.equal(true)
    expect(matches('^\\Qa.b\\E$', 'axb'), '\\Q…\\E is literal').to.equal(false)
    expect(matches('\\Aa.b\\z', 'a.b')).to.equal(true)
    expect(matches('^\\x{1F600}$', '😀')).to.equal(true)
    expect(matches('^\\p{Greek}\\PL$', 'α1')).to.equal(true)
    expect(matches('^(.*/)?b$', 'a/b')).to.equal(true)
    expect(matches('^(.*/)?b$', 'b')).to.equal(true)
  })

  describe('refuses what Go refuses', () => {
    const cases: [string, string][] = [
      ['^src/[z-a][^/]*$', 'character range z-a is out of order'],
      ['^a\\y$', 'invalid escape sequence \\y'],
      ['^a\\1$', 'invalid escape sequence \\1'],
      ['^\\C$', 'invalid escape sequence \\C'],
      ['^[[:nope:]]$', 'unknown character class [:nope:]'],
      ['^[[:alpha:]$', 'missing closing ]'],
      ['^\\p{Nope}$', 'unknown Unicode class \\p{Nope}'],
      ['^a)$', 'unexpected )'],
      ['^(a$', 'missing closing )'],
    ]
    for (const [source, reason] of cases) {
      it(source, () => {
        expect(compileError(source)).to.equal(reason)
      })
    }
  })
})
