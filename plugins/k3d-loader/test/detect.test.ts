import {expect} from 'chai'
import type {KubeContextInfo} from 'kudev'

import {detectK3d} from '../src/detect.js'

function context(name: string, cluster: string | undefined): KubeContextInfo {
  return {cluster, clusterExtensions: {}, extensions: {}, name, server: 'https://0.0.0.0:6443'}
}

describe('k3d loader detection', () => {
  const table: [string, KubeContextInfo, string | undefined][] = [
    ['k3d-dev (as k3d writes it)', context('k3d-dev', 'k3d-dev'), 'dev'],
    ["k3d's default cluster", context('k3d-k3s-default', 'k3d-k3s-default'), 'k3s-default'],
    ['a renamed k3d context (cluster k3d-dev)', context('dev', 'k3d-dev'), 'dev'],
    ['a context without a cluster name', context('k3d-solo', undefined), 'solo'],
    ['a context named k3d-x whose cluster is not k3d-…', context('k3d-x', 'gke_proj_zone_name'), undefined],
    ['kind-x', context('kind-x', 'kind-x'), undefined],
    ['minikube', context('minikube', 'minikube'), undefined],
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), undefined],
    ['a cluster named just k3d-', context('k3d-', 'k3d-'), undefined],
  ]
  for (const [what, info, cluster] of table) {
    it(`${cluster === undefined ? 'declines' : `claims (cluster ${cluster})`}: ${what}`, () => {
      const target = detectK3d(info, {forced: false})
      expect(target).to.deep.equal(cluster === undefined ? undefined : {context: info.name, params: {cluster}})
    })
  }

  it("when forced (--loader k3d), takes the name from the context when the cluster entry is not k3d's", () => {
    expect(detectK3d(context('k3d-x', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'k3d-x',
      params: {cluster: 'x'},
    })
  })

  it('when forced for a context that names no k3d cluster, returns a target without one (load() says why)', () => {
    expect(detectK3d(context('prod', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'prod',
      params: {},
    })
  })
})
