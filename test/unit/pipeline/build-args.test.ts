import {expect} from 'chai'

import {mergeBuildArgs} from '../../../src/pipeline/build-args.js'

describe('build arguments', () => {
  it('lets --build-arg override spec.buildArgs and sorts the result', () => {
    expect(mergeBuildArgs({B: '1', VERSION: '1.0'}, ['VERSION=2.0', 'A=x=y'])).to.deep.equal({A: 'x=y', B: '1', VERSION: '2.0'})
    expect(Object.keys(mergeBuildArgs({Z: '1', A: '2'}))).to.deep.equal(['A', 'Z'])
  })

  it('takes a bare NAME from the environment, and leaves it out when unset, as docker does', () => {
    expect(mergeBuildArgs({}, ['TOKEN', 'MISSING'], {TOKEN: 'secret'})).to.deep.equal({TOKEN: 'secret'})
  })

  it('keeps an empty value', () => {
    expect(mergeBuildArgs({A: '1'}, ['A='])).to.deep.equal({A: ''})
  })

  it('rejects a name that is not one, naming the flag', () => {
    expect(() => mergeBuildArgs({}, ['1BAD=x'])).to.throw('--build-arg 1BAD=x: "1BAD" is not a build argument name')
    expect(() => mergeBuildArgs({}, ['=x'])).to.throw(/is not a build argument name/)
  })
})
