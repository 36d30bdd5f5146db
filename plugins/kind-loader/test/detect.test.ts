import {expect} from 'chai'
import {fileURLToPath} from 'node:url'

import {resolveKubeContext} from '../../../src/kube/index.js'
import {contextInfo} from '../../../src/pipeline/choose.js'
import type {KubeContextInfo} from '../../../src/plugins/contract.js'
import {detectKind} from '../src/detect.js'

const minikubeExtension = {
  cluster_info: {'last-update': 'Thu, 14 Mar 2024 21:38:07 GMT', provider: 'minikube.sigs.k8s.io', version: 'v1.32.0'},
}

function context(name: string, cluster: string | undefined, more: Partial<KubeContextInfo> = {}): KubeContextInfo {
  return {cluster, clusterExtensions: {}, extensions: {}, name, server: 'https://127.0.0.1:6443', ...more}
}

describe('kind loader detection', () => {
  const saved = process.env.KIND_CLUSTER_NAME
  beforeEach(() => delete process.env.KIND_CLUSTER_NAME)
  after(() => {
    if (saved === undefined) delete process.env.KIND_CLUSTER_NAME
    else process.env.KIND_CLUSTER_NAME = saved
  })

  const table: [string, KubeContextInfo, string | undefined][] = [
    ['kind-dev', context('kind-dev', 'kind-dev'), 'dev'],
    ['a cluster named kind-x (context kind-kind-x)', context('kind-kind-x', 'kind-kind-x'), 'kind-x'],
    ['a renamed kind context (cluster kind-dev)', context('dev', 'kind-dev'), 'dev'],
    ['a context without a cluster name', context('kind-solo', undefined), 'solo'],
    ['a context named kind-x whose cluster is not kind-…', context('kind-x', 'gke_proj_zone_name'), undefined],
    [
      'minikube with a custom profile name and its extension',
      context('dev-mk', 'dev-mk', {
        clusterExtensions: minikubeExtension,
        extensions: {context_info: minikubeExtension.cluster_info},
      }),
      undefined,
    ],
    ['plain minikube', context('minikube', 'minikube'), undefined],
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), undefined],
    ['docker-for-desktop', context('docker-for-desktop', 'docker-for-desktop-cluster'), undefined],
    ['k3d-x', context('k3d-x', 'k3d-x'), undefined],
    ['gke_proj_zone_name', context('gke_proj_zone_name', 'gke_proj_zone_name'), undefined],
    ['a cluster named just kind-', context('kind-', 'kind-'), undefined],
  ]
  for (const [what, info, cluster] of table) {
    it(`${cluster === undefined ? 'declines' : `claims (cluster ${cluster})`}: ${what}`, () => {
      const target = detectKind(info, {forced: false})
      expect(target).to.deep.equal(cluster === undefined ? undefined : {context: info.name, params: {cluster}})
    })
  }

  it("when forced, takes the name from the context when the cluster entry does not look like kind's", () => {
    expect(detectKind(context('kind-x', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'kind-x',
      params: {cluster: 'x'},
    })
    expect(detectKind(context('kind-dev', 'kind-dev'), {forced: true})).to.deep.equal({
      context: 'kind-dev',
      params: {cluster: 'dev'},
    })
  })

  it('when forced on a context that names no kind cluster, uses KIND_CLUSTER_NAME, else leaves the cluster for the loader to ask about', () => {
    expect(detectKind(context('dev', 'dev'), {forced: true})).to.deep.equal({context: 'dev', params: {}})
    process.env.KIND_CLUSTER_NAME = 'from-env'
    expect(detectKind(context('dev', 'dev'), {forced: true})).to.deep.equal({
      context: 'dev',
      params: {cluster: 'from-env'},
    })
    expect(detectKind(context('dev', 'dev'), {forced: false})).to.equal(undefined)
  })

  it('over the kubeconfig fixtures, read as kudev reads them, claims only its own', async () => {
    const claims: Record<string, Record<string, string>> = {'kind-dev': {cluster: 'dev'}}
    for (const fixture of ['docker-desktop', 'docker-for-desktop', 'gke', 'k3d-x', 'kind-dev', 'minikube-profile']) {
      const context = await resolveKubeContext({
        env: {KUBECONFIG: fileURLToPath(new URL(`../../../test/fixtures/kubeconfig/${fixture}.yaml`, import.meta.url))},
      })
      const params = claims[fixture]
      expect(detectKind(contextInfo(context), {forced: false}), fixture).to.deep.equal(
        params === undefined ? undefined : {context: context.name, params},
      )
    }
  })
})
