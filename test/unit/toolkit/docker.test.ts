import {expect} from 'chai'

import {fakeToolkit, rejection} from '../../../src/testing/index.js'
import {dockerHost} from '../../../src/toolkit/docker.js'

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
    expect(first).to.deep.equal({containerdStore: true, platform: 'linux/arm64', sharesLoopback: false})
    expect(second).to.equal(first)
    expect(toolkit.calls).to.have.length(1)
  })

  it('lets the engine push to a loopback registry only when it runs on this machine, in its network, with its own image store', async () => {
    const host = (
      name: string,
      system = 'Debian GNU/Linux 12',
      security = '["name=seccomp,profile=default"]',
      store = 'null',
    ) =>
      dockerHost(
        fakeToolkit(() => ({stdout: `linux\tx86_64\t${store}\t${name}\t${system}\t${security}\n`})),
        'vm',
      ).then((found) => found.sharesLoopback)
    expect(await host('vm')).to.equal(true)
    expect(await host('docker-desktop', 'Docker Desktop'), "Desktop's VM").to.equal(false)
    expect(await host('vm', 'Docker Desktop'), 'Desktop, whatever its name').to.equal(false)
    expect(await host('build-server'), 'a remote engine').to.equal(false)
    expect(await host('vm', undefined, '["name=seccomp","name=rootless"]'), 'rootless').to.equal(false)
    expect(
      await host('vm', undefined, undefined, '[["driver-type","io.containerd.snapshotter.v1"]]'),
      'containerd store',
    ).to.equal(false)
    // An older answer without the fields: not assumed.
    const old = await dockerHost(
      fakeToolkit(() => ({stdout: 'linux\tx86_64\tnull\n'})),
      'vm',
    )
    expect(old.sharesLoopback).to.equal(false)
  })
})
