import {expect} from 'chai'

import {fakeToolkit, rejection} from '../../../src/testing/index.js'

describe('the toolkit docker helpers', () => {
  it("fails with what kudev was doing and docker's last line, unless the result is accepted", async () => {
    const toolkit = fakeToolkit(([, sub]) =>
      sub === 'image'
        ? {exitCode: 1, stderr: 'Error: No such image: app:1\n'}
        : {exitCode: 1, stderr: 'warning\nError: denied\n'},
    )
    const accepted = await toolkit.docker(['image', 'inspect', 'app:1'], 'inspect app:1', {
      accept: (result) => /no such image/i.test(result.stderr),
    })
    expect(accepted.exitCode).to.equal(1)
    const error = await rejection(toolkit.docker(['load'], 'load app:1', {errorCode: 'load'}))
    expect(error.message).to.equal('could not load app:1: Error: denied')
    expect(error.code).to.equal('load')
    expect(error.details).to.deep.equal(['warning'])
  })

  it('asks docker info for the platform and image store once per run', async () => {
    const toolkit = fakeToolkit(() => ({stdout: 'linux\taarch64\t[["driver-type","io.containerd.snapshotter.v1"]]\n'}))
    const [first, second] = await Promise.all([toolkit.dockerHost(), toolkit.dockerHost()])
    expect(first).to.deep.equal({containerdStore: true, platform: 'linux/arm64'})
    expect(second).to.equal(first)
    expect(toolkit.calls).to.have.length(1)
  })
})
