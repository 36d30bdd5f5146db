import {expect} from 'chai'

import {exec} from '../../../src/exec/run.js'
import type {KudevError} from '../../../src/output/errors.js'
import {createLogger} from '../../../src/output/logger.js'
import {interruptedAs, interruptible, unlessInterrupted} from '../../../src/pipeline/interrupt.js'

const logger = createLogger('error', {write: () => true}, {NO_COLOR: '1'})

describe('interruptible', () => {
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    it(`${name} kills the running subprocess and ends as interrupted (exit 130)`, async () => {
      const started = Date.now()
      setTimeout(() => process.emit(name, name), 200)
      const error = await interruptible((signal) => exec(logger, 'sleep', ['30'], {signal})).then(
        () => undefined,
        (thrown: KudevError) => thrown,
      )
      expect(error?.code).to.equal('interrupted')
      expect(error?.exitCode).to.equal(130)
      expect(error?.message).to.equal(`interrupted by ${name}; stopped what was running`)
      expect(Date.now() - started).to.be.below(5000)
    })
  }

  it("lets the work's own account of the interruption through, and replaces any other error", async () => {
    const stopped = interruptedAs('stopped watching', {expected: true})
    const endWith = (thrown: Error) =>
      interruptible(async (signal) => {
        process.emit('SIGINT', 'SIGINT')
        expect(signal.aborted).to.equal(true)
        throw thrown
      }).catch((error: KudevError) => error)
    expect(await endWith(stopped)).to.equal(stopped)
    expect(stopped).to.include({code: 'interrupted', expected: true, exitCode: 130})
    const replaced = await endWith(new Error('docker build killed'))
    expect(replaced.message).to.equal('interrupted by SIGINT; stopped what was running')
  })

  it('leaves no signal handler behind', async () => {
    const before = process.listenerCount('SIGINT')
    await interruptible(async () => 1)
    await interruptible(async () => {
      throw new Error('x')
    }).catch(() => {})
    expect(process.listenerCount('SIGINT')).to.equal(before)
  })

  describe('unlessInterrupted', () => {
    const never = new Promise<string>(() => {})
    const reason = new Error('interrupted by SIGINT')

    it('answers what the question answers, or fails as it fails', async () => {
      const signal = new AbortController().signal
      expect(await unlessInterrupted(Promise.resolve('yes'), signal)).to.equal('yes')
      const failed = await unlessInterrupted(Promise.reject(new Error('no engine')), signal).catch((e: Error) => e)
      expect((failed as Error).message).to.equal('no engine')
    })

    it('gives up on a question that does not answer once the signal aborts, with its reason', async () => {
      const controller = new AbortController()
      setTimeout(() => controller.abort(reason), 20)
      expect(await unlessInterrupted(never, controller.signal).catch((e: Error) => e)).to.equal(reason)
      expect(await unlessInterrupted(Promise.resolve('late'), controller.signal).catch((e: Error) => e)).to.equal(
        reason,
      )
    })
  })
})
