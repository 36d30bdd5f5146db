import {expect} from 'chai'

import {ExitCode, isKudevError, KudevError} from '../../../src/output/errors.js'
import {createLogger} from '../../../src/output/logger.js'
import {errorJson, renderError, toKudevError} from '../../../src/output/report.js'

const quiet = createLogger('info', {write: () => true}, {NO_COLOR: '1'})
const verbose = createLogger('debug', {write: () => true}, {NO_COLOR: '1'})

describe('error reporting', () => {
  it('renders message, details and hint; debug lines only when verbose', () => {
    const error = new KudevError('kube', 'context "kind-dve" not found', {
      debug: ['read /root/.kube/config'],
      details: ['available: kind-dev'],
      hint: 'did you mean "kind-dev"?',
    })
    expect(renderError(error, quiet)).to.equal(
      'Error: context "kind-dve" not found\n  available: kind-dev\nHint: did you mean "kind-dev"?\n',
    )
    expect(renderError(error, verbose)).to.include('read /root/.kube/config')
  })

  it('renders an expected end (Ctrl-C leaving watch mode) as its message alone, and keeps its exit code', () => {
    const stopped = new KudevError('interrupted', 'stopped watching', {expected: true})
    expect(renderError(stopped, quiet)).to.equal('stopped watching\n')
    expect(stopped.exitCode).to.equal(130)
    expect(errorJson(stopped)).to.deep.equal({error: {code: 'interrupted', exitCode: 130, message: 'stopped watching'}})
  })

  it('maps each error code to its documented exit code', () => {
    expect(new KudevError('config', 'x').exitCode).to.equal(1)
    expect(new KudevError('plugin', 'x').exitCode).to.equal(4)
    expect(new KudevError('interrupted', 'x').exitCode).to.equal(130)
    expect(Object.values(ExitCode)).to.have.length(new Set(Object.values(ExitCode)).size)
  })

  it('recognises a KudevError made by another copy of kudev by its shape', () => {
    const foreign = Object.assign(new Error('engine down'), {code: 'engine', name: 'KudevError'})
    expect(isKudevError(foreign)).to.equal(true)
    expect(isKudevError(Object.assign(new Error('x'), {code: 'nonsense', name: 'KudevError'}))).to.equal(false)
  })

  it('turns an oclif parse error into a usage error led by the actual problem', () => {
    const parse = Object.assign(
      new Error(
        'The following errors occurred:\n  --quiet=true cannot also be provided when using --verbose\nSee more help with --help',
      ),
      {oclif: {exit: 2}},
    )
    const error = toKudevError(parse, 'validate')
    expect(error.code).to.equal('usage')
    expect(error.message).to.equal('--quiet=true cannot also be provided when using --verbose')
    expect(error.hint).to.equal('see kudev validate --help')
  })

  it('calls an unexpected exception an internal error and keeps its stack for --verbose', () => {
    const error = toKudevError(new TypeError('cannot read properties of undefined'))
    expect(error.exitCode).to.equal(70)
    expect(error.message).to.equal('internal error: cannot read properties of undefined')
    expect(error.debug[0]).to.include('TypeError')
  })

  it('puts code, exit code, hint and data in the JSON form', () => {
    const json = errorJson(new KudevError('config', '2 problems', {data: {file: '/p/.kudev.yaml'}, hint: 'fix them'}))
    expect(json).to.deep.equal({
      error: {code: 'config', exitCode: 1, file: '/p/.kudev.yaml', hint: 'fix them', message: '2 problems'},
    })
  })
})
