import {expect} from 'chai'

import type {ClusterNode} from '../../../src/plugins/contract.js'
import {fakeToolkit} from '../../../src/testing/index.js'

const ID = `sha256:${'c'.repeat(64)}`
const OTHER = `sha256:${'d'.repeat(64)}`
const nodes: ClusterNode[] = [
  {name: 'dev-control-plane', state: 'running'},
  {name: 'dev-worker', state: 'running'},
]

/** Nodes whose docker.io/library/app:1 points at the manifest `has[node]` (absent: not listed). */
function cluster(has: Record<string, string>) {
  const toolkit = fakeToolkit((command) => {
    const line = command.join(' ')
    if (/^docker exec \S+ ctr --namespace=k8s.io content get /.test(line))
      return {stdout: JSON.stringify({config: {digest: `sha256:${'f'.repeat(64)}`}})}
    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (!ls) return undefined
    const digest = has[ls[1]!]
    const row = `${ls[2]} application/vnd.oci.image.manifest.v1+json ${digest} 1 KiB linux/amd64 -\n`
    return {stdout: `REF TYPE DIGEST SIZE PLATFORMS LABELS\n${digest === undefined ? '' : row}`}
  })
  const listings = () => toolkit.commands.filter((command) => command.includes('ls')).length
  return {listings, toolkit}
}

describe('the toolkit node helpers', () => {
  it('describeNodes: one node, or several in a list', () => {
    const {toolkit} = cluster({})
    expect(toolkit.describeNodes(['a'])).to.equal('node "a"')
    expect(toolkit.describeNodes(['a', 'b'])).to.equal('nodes "a", "b"')
  })

  describe('lackingNodes', () => {
    it("load() takes has()'s answer for the same nodes and image, once", async () => {
      const {listings, toolkit} = cluster({'dev-control-plane': ID})
      const lacking = toolkit.lackingNodes()
      expect(await lacking.ask(nodes, {id: ID, ref: 'app:1'})).to.deep.equal(['dev-worker'])
      expect(listings()).to.equal(2)
      expect(await lacking.forLoad(nodes, {id: ID, ref: 'app:1'})).to.deep.equal(['dev-worker'])
      expect(listings()).to.equal(2)
      // A second load with no has() between asks again: the first one changed what the nodes hold.
      await lacking.forLoad(nodes, {id: ID, ref: 'app:1'})
      expect(listings()).to.equal(4)
    })

    it('asks again for another image, or other nodes', async () => {
      const {listings, toolkit} = cluster({'dev-control-plane': ID, 'dev-worker': ID})
      const lacking = toolkit.lackingNodes()
      expect(await lacking.ask(nodes, {id: ID, ref: 'app:1'})).to.deep.equal([])
      expect(await lacking.forLoad(nodes, {id: OTHER, ref: 'app:1'})).to.deep.equal(nodes.map((node) => node.name))
      expect(listings()).to.equal(4)
      await lacking.ask(nodes, {id: ID, ref: 'app:1'})
      expect(await lacking.forLoad(nodes.slice(1), {id: ID, ref: 'app:1'})).to.deep.equal([])
      expect(listings()).to.equal(7)
    })

    it('each loader gets its own memory', async () => {
      const {listings, toolkit} = cluster({})
      await toolkit.lackingNodes().ask(nodes, {id: ID, ref: 'app:1'})
      await toolkit.lackingNodes().forLoad(nodes, {id: ID, ref: 'app:1'})
      expect(listings()).to.equal(4)
    })
  })
})
