import {expect} from 'chai'

import {diagnostic} from '../../../src/doctor/diagnostic.js'
import {KudevError} from '../../../src/output/errors.js'

describe('diagnostic (a kudev doctor row from a check)', () => {
  it('passes with what the check found, and a hint when it gives one', async () => {
    expect(await diagnostic('kind', async () => 'kind v0.32.0')).to.deep.equal({
      name: 'kind',
      ok: true,
      summary: 'kind v0.32.0',
    })
    expect(
      await diagnostic('docker build', async () => ({hint: 'set DOCKER_BUILDKIT=1', summary: 'the classic builder'})),
    ).to.deep.equal({hint: 'set DOCKER_BUILDKIT=1', name: 'docker build', ok: true, summary: 'the classic builder'})
  })

  it('fails with the error kudev up would show: its message and its hint', async () => {
    const failing = async () => {
      throw new KudevError('load', 'no kind nodes found for cluster "dev"', {hint: 'kind create cluster --name dev'})
    }

    expect(await diagnostic('cluster', failing)).to.deep.equal({
      hint: 'kind create cluster --name dev',
      name: 'cluster',
      ok: false,
      summary: 'no kind nodes found for cluster "dev"',
    })
    expect(
      await diagnostic('cluster', async () => {
        throw new Error('unexpected')
      }),
    ).to.deep.equal({name: 'cluster', ok: false, summary: 'unexpected'})
  })
})
