import {expect} from 'chai'

import {BuildOutput, stripAnsi} from '../src/output.js'
import {
  BUILDKIT_COPY_MISSING,
  BUILDKIT_FAILED_RUN,
  BUILDKIT_PARSE_ERROR,
  CLASSIC_COPY_MISSING,
  CLASSIC_FAILED_RUN,
  CLASSIC_PARSE_ERROR,
} from './texts.js'

/** Feeds a captured output as exec delivers it: one line at a time, without the newline. */
function follow(text: string): {output: BuildOutput; shown: Array<string | undefined>} {
  const output = new BuildOutput()
  const shown = text
    .replace(/\n$/, '')
    .split(/\r?\n/)
    .map((line) => output.add(line))
  return {output, shown}
}

describe('docker build output', () => {
  describe('classic builder', () => {
    it("folds the CLI's four-line deprecation notice into one line, kept for -v, and shows the rest", () => {
      const {output, shown} = follow(CLASSIC_FAILED_RUN)
      expect(shown.slice(0, 5)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
        'Sending build context to Docker daemon  10.24kB',
      ])
      expect(output.notice).to.equal(
        'DEPRECATED: The legacy builder is deprecated and will be removed in a future release. Install the buildx component to build images with BuildKit: https://docs.docker.com/go/buildx/',
      )
      expect(shown.filter((line) => line === '')).to.have.length(1)
    })

    it("names the Step N/M that failed and docker's reason", () => {
      expect(follow(CLASSIC_FAILED_RUN).output.failure()).to.deep.equal({
        reason: "The command '/bin/sh -c echo boom >&2; exit 3' returned a non-zero code: 3",
        step: 'Step 3/4 : RUN echo boom >&2; exit 3',
      })
    })

    it('names the failing COPY step', () => {
      expect(follow(CLASSIC_COPY_MISSING).output.failure()).to.deep.equal({
        reason:
          'COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist',
        step: 'Step 2/2 : COPY missing /x',
      })
    })

    it('has no step for a Dockerfile that does not parse, and drops "Error response from daemon:"', () => {
      expect(follow(CLASSIC_PARSE_ERROR).output.failure()).to.deep.equal({
        reason: 'dockerfile parse error line 2: unknown instruction: FOO',
        step: undefined,
      })
    })

    it('shows lines without the colours and carriage returns docker adds', () => {
      const {shown} = follow(CLASSIC_FAILED_RUN)
      expect(shown).to.include('boom')
      expect(shown).to.include('Removing intermediate container 4276531d3c5c')
      expect(shown).to.include('Sending build context to Docker daemon  10.24kB')
    })

    it('gives no reason when the output ends at a step header', () => {
      expect(follow('Step 1/2 : FROM scratch\n').output.failure()).to.deep.equal({
        reason: undefined,
        step: 'Step 1/2 : FROM scratch',
      })
    })
  })

  describe('BuildKit plain progress', () => {
    it('names the vertex with the ERROR line, and its error', () => {
      expect(follow(BUILDKIT_FAILED_RUN).output.failure()).to.deep.equal({
        reason: 'executor failed running [/bin/sh -c echo boom >&2; exit 3]: exit code: 3',
        step: '#5 [3/4] RUN echo boom >&2; exit 3',
      })
    })

    it('names a failing COPY', () => {
      expect(follow(BUILDKIT_COPY_MISSING).output.failure()).to.deep.equal({
        reason: '"/missing" not found: not found',
        step: '#3 [1/1] COPY missing /x',
      })
    })

    it('reports the frontend error when no step failed (a Dockerfile that does not parse)', () => {
      expect(follow(BUILDKIT_PARSE_ERROR).output.failure()).to.deep.equal({
        reason:
          'failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: FOO',
        step: undefined,
      })
    })

    it('keeps the first error when several steps fail', () => {
      const {output} = follow('#4 [2/3] RUN a\n#5 [2/3] RUN b\n#5 ERROR: b failed\n#4 ERROR: a failed\n')
      expect(output.failure().step).to.equal('#5 [2/3] RUN b')
    })
  })

  it('keeps the last 15 meaningful lines for the error details, without blank lines and vertex digests', () => {
    const {output} = follow(BUILDKIT_FAILED_RUN)
    expect(output.tail).to.have.length(15)
    expect(output.tail.at(-1)).to.equal('executor failed running [/bin/sh -c echo boom >&2; exit 3]: exit code: 3')
    expect(output.tail.some((line) => line === '' || / sha256:/.test(line))).to.equal(false)
  })

  it('strips colour codes', () => {
    expect(stripAnsi('\u001B[91mboom\u001B[0m\r')).to.equal('boom')
  })
})
