import {expect} from 'chai'

import {parseBuildArgs} from '../../../src/hash/build-args.js'

describe('--build-arg', () => {
  it('reads NAME=VALUE, keeps = in values, and lets a later flag win', () => {
    expect(parseBuildArgs(['A=1', 'URL=http://x/?a=b', 'A=2', 'EMPTY='])).to.deep.equal({
      A: '2',
      EMPTY: '',
      URL: 'http://x/?a=b',
    })
  })

  it('takes a bare NAME from the environment, like docker build', () => {
    expect(parseBuildArgs(['TOKEN'], {TOKEN: 's3cret'})).to.deep.equal({TOKEN: 's3cret'})
  })

  it('refuses a bare NAME that is not set, and a missing name', () => {
    expect(() => parseBuildArgs(['TOKEN'], {})).to.throw(
      '--build-arg TOKEN has no value and TOKEN is not set in the environment',
    )
    expect(() => parseBuildArgs(['=1'], {})).to.throw('--build-arg "=1" has no name')
  })
})
