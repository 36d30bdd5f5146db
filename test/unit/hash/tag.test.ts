import {expect} from 'chai'

import {imageTag} from '../../../src/hash/tag.js'

const digest = '1a2b3c4d5e6f'.padEnd(64, '0')

describe('image tag', () => {
  it('is kudev- and the first 8 hex of the digest', () => {
    expect(imageTag(digest)).to.equal('kudev-1a2b3c4d')
  })

  it('appends the build time in UTC with --build-timestamp', () => {
    expect(imageTag(digest, {buildTimestamp: new Date('2026-01-02T03:04:05.678+02:00')})).to.equal(
      'kudev-1a2b3c4d-20260102-010405',
    )
  })
})
