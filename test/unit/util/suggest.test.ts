import {expect} from 'chai'

import {closest, editDistance} from '../../../src/util/suggest.js'

describe('did-you-mean', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('imgaeName', 'imageName')).to.equal(1)
    expect(editDistance('kitten', 'sitting')).to.equal(3)
    expect(editDistance('', 'abc')).to.equal(3)
  })

  it('suggests the closest candidate, ignoring case, and nothing when all are far', () => {
    expect(closest('imagename', ['imageName', 'namespace'])).to.equal('imageName')
    expect(closest('dockerfilepth', ['dockerfilePath', 'buildContext'])).to.equal('dockerfilePath')
    expect(closest('zzz', ['imageName', 'namespace'])).to.equal(undefined)
    expect(closest('kind-dve', ['kind-dev', 'minikube'])).to.equal('kind-dev')
  })
})
