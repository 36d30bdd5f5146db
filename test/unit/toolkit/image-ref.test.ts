import {expect} from 'chai'

import {normalizeRef} from '../../../src/toolkit/image-ref.js'

describe('normalizeRef', () => {
  it('normalises names as CRI stores them', () => {
    expect(normalizeRef('app:1')).to.equal('docker.io/library/app:1')
    expect(normalizeRef('app')).to.equal('docker.io/library/app:latest')
    expect(normalizeRef('team/app:2')).to.equal('docker.io/team/app:2')
    expect(normalizeRef('localhost:5000/app')).to.equal('localhost:5000/app:latest')
    expect(normalizeRef('localhost/app:5')).to.equal('localhost/app:5')
    expect(normalizeRef('ghcr.io/o/app:3')).to.equal('ghcr.io/o/app:3')
    expect(normalizeRef('index.docker.io/app:4')).to.equal('docker.io/library/app:4')
    expect(normalizeRef(`app@sha256:${'a'.repeat(64)}`)).to.equal(`docker.io/library/app@sha256:${'a'.repeat(64)}`)
  })
})
