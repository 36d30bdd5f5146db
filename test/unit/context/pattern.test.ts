import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {goClean} from '../../../src/context/dockerignore.js'
import {compilePattern} from '../../../src/context/pattern.js'

const VECTORS = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../fixtures/dockerignore/patternmatcher-vectors.json', import.meta.url)),
    'utf8',
  ),
) as {compile: {pattern: string; kind: string; regexp?: string}[]}

describe('context: one .dockerignore pattern (moby/patternmatcher vectors)', () => {
  describe('TestCompile: match kind and Go regexp text', () => {
    for (const vector of VECTORS.compile) {
      it(`${vector.pattern} → ${vector.kind}`, () => {
        const compiled = compilePattern(goClean(vector.pattern))
        expect(compiled.kind).to.equal(vector.kind)
        expect(compiled.goRegexp).to.equal(vector.regexp)
      })
    }
  })
})
