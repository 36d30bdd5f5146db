import {expect} from 'chai'
import {fileURLToPath} from 'node:url'

import {resolveKubeContext} from '../../../src/kube/index.js'
import {contextInfo} from '../../../src/pipeline/choose.js'
import type {KubeContextInfo} from '../../../src/plugins/contract.js'
import {detectMicrok8s} from '../src/detect.js'

function context(name: string, cluster: string | undefined): KubeContextInfo {
  return {cluster, clusterExtensions: {}, extensions: {}, name, server: 'https://127.0.0.1:16443'}
}

describe('microk8s loader detection', () => {
  const table: [string, KubeContextInfo, boolean][] = [
    ['what microk8s config writes', context('microk8s', 'microk8s-cluster'), true],
    ['a renamed context: the cluster entry keeps its name', context('home-lab', 'microk8s-cluster'), true],
    ['a context named microk8s on another cluster', context('microk8s', 'gke_proj_zone_name'), false],
    ['a context named microk8s without a cluster entry', context('microk8s', undefined), false],
    ['kind-dev', context('kind-dev', 'kind-dev'), false],
    ['minikube', context('minikube', 'minikube'), false],
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), false],
    ['k3d-x', context('k3d-x', 'k3d-x'), false],
  ]
  for (const [what, ctx, claimed] of table) {
    it(`${claimed ? 'claims' : 'declines'}: ${what}`, () => {
      expect(detectMicrok8s(ctx, {forced: false})).to.deep.equal(claimed ? {context: ctx.name, params: {}} : undefined)
    })
  }

  it('when forced (--loader microk8s), takes any context', () => {
    expect(detectMicrok8s(context('gke_proj_zone_name', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'gke_proj_zone_name',
      params: {},
    })
  })

  it("over microk8s config's kubeconfig and the other fixtures, read as kudev reads them, claims only its own", async () => {
    const files: [string, boolean][] = [
      [fileURLToPath(new URL('fixtures/microk8s.yaml', import.meta.url)), true],
      ...['docker-desktop', 'docker-for-desktop', 'gke', 'k3d-x', 'kind-dev', 'minikube-profile'].map(
        (fixture): [string, boolean] => [
          fileURLToPath(new URL(`../../../test/fixtures/kubeconfig/${fixture}.yaml`, import.meta.url)),
          false,
        ],
      ),
    ]
    for (const [file, claimed] of files) {
      const resolved = await resolveKubeContext({env: {KUBECONFIG: file}})
      expect(detectMicrok8s(contextInfo(resolved), {forced: false}), file).to.deep.equal(
        claimed ? {context: 'microk8s', params: {}} : undefined,
      )
    }
  })
})
