import {expect} from 'chai'

import {didYouMean} from '../../../src/kube/did-you-mean.js'

describe('kube/didYouMean', () => {
  const contexts = ['docker-desktop', 'kind-dev', 'k3d-x', 'kudev-demo', 'gke_proj_zone_name']

  it('suggests the closest name within a few edits', () => {
    expect(didYouMean('kind-deb', contexts)).to.equal('kind-dev')
    expect(didYouMean('docker-desktp', contexts)).to.equal('docker-desktop')
  })

  it('ignores case', () => {
    expect(didYouMean('KIND-DEV', contexts)).to.equal('kind-dev')
  })

  it('suggests the prefixed context when only the cluster part was typed', () => {
    expect(didYouMean('dev', contexts)).to.equal('kind-dev')
    expect(didYouMean('x', contexts)).to.equal('k3d-x')
  })

  it('suggests nothing when no name is close', () => {
    expect(didYouMean('production', contexts)).to.equal(undefined)
    expect(didYouMean('kind-dev', [])).to.equal(undefined)
  })
})
