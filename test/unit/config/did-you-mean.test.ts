import {expect} from 'chai'

import {didYouMean} from '../../../src/config/did-you-mean.js'

describe('config: did-you-mean for unknown fields', () => {
  const fields = ['imageName', 'dockerfilePath', 'namespace', 'replicas', 'env', 'localPort', 'servicePort']
  const cases: Array<[string, string | undefined]> = [
    ['imagename', 'imageName'],
    ['IMAGENAME', 'imageName'],
    ['imgaeName', 'imageName'],
    ['imageNam', 'imageName'],
    ['replica', 'replicas'],
    ['evn', 'env'],
    ['dockerfile', 'dockerfilePath'],
    ['local', 'localPort'],
    ['servicePorts', 'servicePort'],
    ['ns', undefined],
    ['image', 'imageName'],
    ['env2', 'env'],
    ['foo', undefined],
    ['somethingElse', undefined],
  ]
  for (const [typed, expected] of cases) {
    it(`${typed} → ${expected ?? 'no suggestion'}`, () => {
      expect(didYouMean(typed, fields)).to.equal(expected)
    })
  }

  it('prefers a typo match over a prefix match', () => {
    expect(didYouMean('local', ['localPort', 'locals'])).to.equal('locals')
  })
})
