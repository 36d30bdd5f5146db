import {expect} from 'chai'

import {extraArguments, missingArguments, unknownFlags, usageError} from '../../../src/cli/usage.js'

describe('usage errors', () => {
  const copy = {
    args: {
      source: {description: 'Image to copy, e.g. shop:1', name: 'source', required: true},
      target: {description: 'URL of the registry.', name: 'target', required: true},
    },
    flags: {
      cache: {allowNo: true, name: 'cache'},
      secret: {hidden: true, name: 'secret'},
      verbose: {aliases: ['loud'], name: 'verbose'},
    },
    id: 'image:copy',
  }

  it('names each missing argument in words from its description, with an example only when every one has one', () => {
    const error = missingArguments(copy, [copy.args.source, copy.args.target])
    expect(error).to.include({code: 'usage', exitCode: 2, hint: 'see kudev image copy --help'})
    expect(error.message).to.equal('kudev image copy needs an image to copy and a URL of the registry')
    expect(error.data).to.deep.equal({command: 'image copy', missing: ['source', 'target']})
    const named = missingArguments({args: {}, id: 'tag'}, [{name: 'ref', required: true}])
    expect(named.message).to.equal('kudev tag needs the REF argument')
  })

  it('says which words a command does not take, and the flag a bare word names', () => {
    expect(extraArguments({id: 'build'}, ['a', 'b']).message).to.equal('kudev build takes no arguments: "a", "b"')
    const taken = extraArguments(copy, ['x'])
    expect(taken.message).to.equal('kudev image copy takes only an image to copy and a URL of the registry, not "x"')
    expect(taken.hint).to.equal('flags start with --; see kudev image copy --help')
    const flag = extraArguments(copy, ['loud'])
    expect(flag.hint).to.equal('did you mean --loud? (see kudev image copy --help)')
    expect(flag.data).to.include({suggestion: '--loud'})
  })

  it('suggests a close visible flag, never a hidden one, and no guess for one letter', () => {
    expect(unknownFlags(copy, ['--no-cach=1']).hint).to.equal(
      'did you mean --no-cache? (kudev image copy --help lists every flag)',
    )
    expect(unknownFlags(copy, ['--secrt']).hint).to.equal('kudev image copy --help lists every flag')
    expect(unknownFlags(copy, ['-c']).data).to.not.have.property('suggestion')
    expect(unknownFlags(copy, ['--a', '--b', '--c']).message).to.equal('kudev image copy has no flags --a, --b and --c')
  })

  it('suggests the one flag a word is a whole part of: --context is --kube-context', () => {
    const up = {
      flags: {
        'build-arg': {name: 'build-arg'},
        'build-timestamp': {name: 'build-timestamp'},
        'kube-context': {name: 'kube-context'},
      },
      id: 'up',
    }
    expect(unknownFlags(up, ['--context']).data).to.include({suggestion: '--kube-context'})
    expect(unknownFlags(up, ['--timestamp=1']).data).to.include({suggestion: '--build-timestamp'})
    // Part of two flags: no guess.
    expect(unknownFlags(up, ['--build']).data).to.not.have.property('suggestion')
  })

  it("recognises oclif's parse errors by shape and leaves every other error alone", () => {
    const parse = {input: {args: copy.args, flags: copy.flags}}
    expect(usageError(Object.assign(new Error('x'), {flags: ['--verbos'], parse}), 'image:copy')?.message).to.equal(
      'kudev image copy has no flag --verbos',
    )
    expect(usageError(Object.assign(new Error('x'), {args: ['y'], parse}), 'image:copy')?.data).to.include({
      command: 'image copy',
    })
    expect(usageError(Object.assign(new Error('x'), {parse: {}}), 'image:copy')).to.equal(undefined)
    expect(usageError(new Error('boom'), 'image:copy')).to.equal(undefined)
    expect(usageError(Object.assign(new Error('x'), {args: ['y'], parse}), undefined)).to.equal(undefined)
  })
})
