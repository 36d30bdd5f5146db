import {expect} from 'chai'

import {chooseLogLevel, colorEnabled, createLogger} from '../../../src/output/logger.js'

function capture(level: Parameters<typeof createLogger>[0], env: NodeJS.ProcessEnv = {NO_COLOR: '1'}, isTTY = false) {
  const lines: string[] = []
  return {lines, logger: createLogger(level, {isTTY, write: (chunk: string) => lines.push(chunk)}, env)}
}

describe('logger', () => {
  it('writes only messages at or above its level', () => {
    const {lines, logger} = capture('warn')
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(lines).to.deep.equal(['Warning: w\n', 'Error: e\n'])
  })

  it('prefixes debug lines so they stand apart from results', () => {
    const {lines, logger} = capture('debug')
    logger.debug('docker version --format json')
    expect(lines).to.deep.equal(['debug: docker version --format json\n'])
  })

  it('chooses the level from --verbose, --quiet, --log-level, then KUDEV_LOG_LEVEL', () => {
    expect(chooseLogLevel({env: {}, verbose: true})).to.equal('debug')
    expect(chooseLogLevel({env: {}, quiet: true})).to.equal('error')
    expect(chooseLogLevel({env: {KUDEV_LOG_LEVEL: 'debug'}, logLevel: 'warn'})).to.equal('warn')
    expect(chooseLogLevel({env: {KUDEV_LOG_LEVEL: 'debug'}})).to.equal('debug')
    expect(chooseLogLevel({env: {KUDEV_LOG_LEVEL: 'loud'}})).to.equal('info')
  })

  it('colours only a terminal, never with NO_COLOR, always with FORCE_COLOR', () => {
    expect(colorEnabled({isTTY: true, write: () => true}, {TERM: 'xterm'})).to.equal(true)
    expect(colorEnabled({isTTY: false, write: () => true}, {TERM: 'xterm'})).to.equal(false)
    expect(colorEnabled({isTTY: true, write: () => true}, {NO_COLOR: '1', TERM: 'xterm'})).to.equal(false)
    expect(colorEnabled({isTTY: true, write: () => true}, {TERM: 'dumb'})).to.equal(false)
    expect(colorEnabled({isTTY: false, write: () => true}, {FORCE_COLOR: '1'})).to.equal(true)
  })

  it('puts escape codes in coloured output and none in plain output', () => {
    const colored = capture('info', {FORCE_COLOR: '1'})
    colored.logger.error('boom')
    expect(colored.lines[0]).to.include('\u001B[31m')
    const plain = capture('info')
    plain.logger.error('boom')
    expect(plain.lines[0]).to.not.include('\u001B[')
  })
})
