/**
 * toolkit.fullLoadCli on a fake CLI and fake nodes: the doctor row with and without the CLI, check()'s
 * requirement, and the error when the CLI exited 0 but a node lacks the image.
 */
import {expect} from 'chai'

import type {ClusterNode} from '../../../src/plugins/contract.js'
import {type Answer, fakeToolkit, rejection} from '../../../src/testing/index.js'

const ID = `sha256:${'c'.repeat(64)}`
const MANIFEST = `sha256:${'m'.repeat(64)}`
const HINT = 'install k3d: https://k3d.io/#installation'
const image = {id: ID, ref: 'app:1'}
const nodes: ClusterNode[] = [
  {name: 'k3d-dev-agent-0', state: 'running'},
  {name: 'k3d-dev-server-0', state: 'running'},
]
const LOADED = {command: 'k3d image import -c dev app:1', exitCode: 0, stderr: 'INFO[0000] Importing\n', stdout: ''}

/** `version` answers `k3d version`; `has` maps each node to the digest its docker.io/library/app:1 points at. */
function cli(options: {version?: Answer; has?: Record<string, string>} = {}) {
  return fakeToolkit((command) => {
    const line = command.join(' ')
    if (line === 'k3d version')
      return options.version ?? {stdout: 'k3d version v5.9.0\nk3s version v1.35.5-k3s1 (default)\n'}
    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (!ls) return undefined
    const digest = options.has?.[ls[1]!]
    const row = `${ls[2]} application/vnd.oci.image.manifest.v1+json ${digest} 1 KiB linux/amd64 -\n`
    return {stdout: `REF TYPE DIGEST SIZE PLATFORMS LABELS\n${digest === undefined ? '' : row}`}
  })
}

describe('toolkit.fullLoadCli', () => {
  it("doctor: the first line of the CLI's version; check() and hints find it installed", async () => {
    const toolkit = cli()
    const k3d = toolkit.fullLoadCli('k3d', HINT)
    expect(await k3d.diagnostic()).to.deep.equal({name: 'k3d', ok: true, summary: 'k3d version v5.9.0'})
    expect(toolkit.calls[0]!.options).to.include({errorCode: 'load', notFoundHint: HINT})
    await k3d.require()
    expect(await k3d.installed()).to.equal(true)
  })

  it('doctor: a missing CLI is needed only for --full-load, which check() then refuses with the install hint', async () => {
    const k3d = cli({version: {notFound: true}}).fullLoadCli('k3d', HINT)
    expect(await k3d.diagnostic()).to.deep.equal({
      hint: HINT,
      name: 'k3d',
      ok: true,
      summary: 'not installed: needed only for --full-load',
    })
    const error = await rejection(k3d.require())
    expect(error).to.deep.include({code: 'load', hint: HINT, message: 'k3d is not installed (not found on PATH)'})
    expect(await k3d.installed()).to.equal(false)
  })

  it('doctor: a CLI that is there but fails is a failed row, and not installed for hints', async () => {
    const k3d = cli({version: {exitCode: 2, stderr: 'segmentation fault\n'}}).fullLoadCli('k3d', HINT)
    expect(await k3d.diagnostic()).to.deep.include({name: 'k3d', ok: false, summary: 'k3d version exited with code 2'})
    expect(await k3d.installed()).to.equal(false)
  })

  it('verifyLoaded passes when every node has the image as one of the ids', async () => {
    const toolkit = cli({has: {'k3d-dev-agent-0': ID, 'k3d-dev-server-0': MANIFEST}})
    await toolkit
      .fullLoadCli('k3d', HINT)
      .verifyLoaded(LOADED, {cluster: 'dev', ids: new Set([ID, MANIFEST]), image, nodes})
    expect(toolkit.commands).to.have.length(2)
  })

  it("verifyLoaded names the node that lacks the image, with the CLI's output and what to run", async () => {
    const toolkit = cli({has: {'k3d-dev-server-0': ID}})
    const error = await rejection(
      toolkit.fullLoadCli('k3d', HINT).verifyLoaded(LOADED, {cluster: 'dev', ids: new Set([ID]), image, nodes}),
    )
    expect(error).to.deep.include({
      code: 'load',
      data: {cluster: 'dev', id: ID, image: 'app:1', nodes: ['k3d-dev-agent-0']},
      details: ['INFO[0000] Importing'],
      hint: "k3d's output is above; each node must list it: docker exec k3d-dev-agent-0 ctr --namespace=k8s.io images ls",
      message: `k3d image import -c dev app:1 exited 0, but node "k3d-dev-agent-0" of cluster "dev" does not have app:1 (${ID})`,
    })
  })

  it('verifyLoaded names every node that lacks the image, and the CLI it was given', async () => {
    const kind = {...LOADED, command: 'kind load docker-image app:1 --name dev -v 1'}
    const error = await rejection(
      cli()
        .fullLoadCli('kind', HINT)
        .verifyLoaded(kind, {cluster: 'dev', ids: new Set([ID]), image, nodes}),
    )
    expect(error.message).to.equal(
      `kind load docker-image app:1 --name dev -v 1 exited 0, but nodes "k3d-dev-agent-0", "k3d-dev-server-0" of cluster "dev" do not have app:1 (${ID})`,
    )
    expect(error.hint).to.equal(
      "kind's output is above; each node must list it: docker exec k3d-dev-agent-0 ctr --namespace=k8s.io images ls",
    )
  })
})
