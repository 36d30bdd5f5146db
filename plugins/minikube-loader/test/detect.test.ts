import {expect} from 'chai'
import {fileURLToPath} from 'node:url'

import {resolveKubeContext} from '../../../src/kube/index.js'
import {contextInfo} from '../../../src/pipeline/choose.js'
import type {KubeContextInfo} from '../../../src/plugins/contract.js'
import {detectMinikube} from '../src/detect.js'

const info = {'last-update': 'Thu, 14 Mar 2024 21:38:07 GMT', provider: 'minikube.sigs.k8s.io', version: 'v1.32.0'}

function context(name: string, cluster: string | undefined, more: Partial<KubeContextInfo> = {}): KubeContextInfo {
  return {cluster, clusterExtensions: {}, extensions: {}, name, server: 'https://192.168.49.2:8443', ...more}
}

describe('minikube loader detection', () => {
  const table: [string, KubeContextInfo, string | undefined][] = [
    [
      'a custom profile, extension on context and cluster',
      context('dev-mk', 'dev-mk', {clusterExtensions: {cluster_info: info}, extensions: {context_info: info}}),
      'dev-mk',
    ],
    [
      'a custom profile, extension on the cluster only',
      context('work', 'work', {clusterExtensions: {cluster_info: info}}),
      'work',
    ],
    [
      'a custom profile, extension on the context only, under another name',
      context('p2', 'p2', {extensions: {'something-else': info}}),
      'p2',
    ],
    [
      'a renamed context: the cluster entry keeps the profile name',
      context('my-laptop', 'dev-mk', {clusterExtensions: {cluster_info: info}}),
      'dev-mk',
    ],
    ['plain minikube without extensions (before 1.17)', context('minikube', 'minikube'), 'minikube'],
    ['kind-dev', context('kind-dev', 'kind-dev'), undefined],
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), undefined],
    ['docker-for-desktop', context('docker-for-desktop', 'docker-for-desktop-cluster'), undefined],
    ['k3d-x', context('k3d-x', 'k3d-x'), undefined],
    ['gke_proj_zone_name', context('gke_proj_zone_name', 'gke_proj_zone_name'), undefined],
    ['a context named kind-x whose cluster is not kind-…', context('kind-x', 'gke_proj_zone_name'), undefined],
    [
      "another provider's extension",
      context('other', 'other', {clusterExtensions: {cluster_info: {...info, provider: 'example.com'}}}),
      undefined,
    ],
    [
      'an extension that is not an object',
      context('odd', 'odd', {extensions: {cluster_info: 'minikube.sigs.k8s.io'}}),
      undefined,
    ],
  ]
  for (const [what, ctx, profile] of table) {
    it(`${profile === undefined ? 'declines' : `claims (profile ${profile})`}: ${what}`, () => {
      expect(detectMinikube(ctx, {forced: false})).to.deep.equal(
        profile === undefined ? undefined : {context: ctx.name, params: {profile}},
      )
    })
  }

  it('when forced, takes the profile from the cluster entry, else the context name', () => {
    expect(detectMinikube(context('gke_proj_zone_name', 'gke_proj_zone_name'), {forced: true})).to.deep.equal({
      context: 'gke_proj_zone_name',
      params: {profile: 'gke_proj_zone_name'},
    })
    expect(detectMinikube(context('loose', undefined), {forced: true})).to.deep.equal({
      context: 'loose',
      params: {profile: 'loose'},
    })
  })

  it('over the kubeconfig fixtures, read as kudev reads them, claims only its own', async () => {
    const claims: Record<string, Record<string, string>> = {'minikube-profile': {profile: 'kudev-demo'}}
    for (const fixture of ['docker-desktop', 'docker-for-desktop', 'gke', 'k3d-x', 'kind-dev', 'minikube-profile']) {
      const context = await resolveKubeContext({
        env: {KUBECONFIG: fileURLToPath(new URL(`../../../test/fixtures/kubeconfig/${fixture}.yaml`, import.meta.url))},
      })
      const params = claims[fixture]
      expect(detectMinikube(contextInfo(context), {forced: false}), fixture).to.deep.equal(
        params === undefined ? undefined : {context: context.name, params},
      )
    }
  })
})
