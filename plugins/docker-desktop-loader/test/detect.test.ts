import {expect} from 'chai'
import {fileURLToPath} from 'node:url'

import {resolveKubeContext} from '../../../src/kube/index.js'
import {contextInfo} from '../../../src/pipeline/choose.js'
import type {KubeContextInfo} from '../../../src/plugins/contract.js'
import {detectDockerDesktop} from '../src/detect.js'

const minikubeInfo = {provider: 'minikube.sigs.k8s.io', version: 'v1.32.0'}

function context(name: string, cluster: string | undefined, more: Partial<KubeContextInfo> = {}): KubeContextInfo {
  return {
    cluster,
    clusterExtensions: {},
    extensions: {},
    name,
    server: 'https://kubernetes.docker.internal:6443',
    ...more,
  }
}

describe('Docker Desktop loader detection', () => {
  const table: [string, KubeContextInfo, boolean][] = [
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), true],
    ['docker-for-desktop (Desktop before 2.1)', context('docker-for-desktop', 'docker-for-desktop-cluster'), true],
    ['a renamed Docker Desktop context', context('laptop', 'docker-desktop'), true],
    ['kind-dev', context('kind-dev', 'kind-dev'), false],
    [
      'minikube with a custom profile name and its extension',
      context('dev-mk', 'dev-mk', {clusterExtensions: {cluster_info: minikubeInfo}}),
      false,
    ],
    ['plain minikube', context('minikube', 'minikube'), false],
    ['k3d-x', context('k3d-x', 'k3d-x'), false],
    ['gke_proj_zone_name', context('gke_proj_zone_name', 'gke_proj_zone_name'), false],
    ['a context named kind-x whose cluster is not kind-…', context('kind-x', 'gke_proj_zone_name'), false],
  ]
  for (const [what, info, claimed] of table) {
    it(`${claimed ? 'claims' : 'declines'}: ${what}`, () => {
      expect(detectDockerDesktop(info, {forced: false})).to.deep.equal(
        claimed ? {context: info.name, params: {}} : undefined,
      )
    })
  }

  it('when forced, takes any context: the cluster is whatever Docker runs', () => {
    expect(detectDockerDesktop(context('gke_proj_zone_name', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'gke_proj_zone_name',
      params: {},
    })
  })

  it('over the kubeconfig fixtures, read as kudev reads them, claims only its own', async () => {
    const claims: Record<string, Record<string, string>> = {'docker-desktop': {}, 'docker-for-desktop': {}}
    for (const fixture of ['docker-desktop', 'docker-for-desktop', 'gke', 'k3d-x', 'kind-dev', 'minikube-profile']) {
      const context = await resolveKubeContext({
        env: {KUBECONFIG: fileURLToPath(new URL(`../../../test/fixtures/kubeconfig/${fixture}.yaml`, import.meta.url))},
      })
      const params = claims[fixture]
      expect(detectDockerDesktop(contextInfo(context), {forced: false}), fixture).to.deep.equal(
        params === undefined ? undefined : {context: context.name, params},
      )
    }
  })
})
