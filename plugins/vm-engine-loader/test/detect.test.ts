import {expect} from 'chai'
import type {KubeContextInfo, LoadTarget} from 'kudev'
import {fileURLToPath} from 'node:url'

import {resolveKubeContext} from '../../../src/kube/index.js'
import {contextInfo} from '../../../src/pipeline/choose.js'
import {detectColima, detectOrbStack, detectRancherDesktop} from '../src/detect.js'

function context(name: string, cluster: string | undefined): KubeContextInfo {
  return {cluster, clusterExtensions: {}, extensions: {}, name, server: 'https://127.0.0.1:6443'}
}

const detectors = {colima: detectColima, orbstack: detectOrbStack, 'rancher-desktop': detectRancherDesktop}

describe('VM engine loaders: detection', () => {
  // [what, context, what each loader claims it as (absent: declines)]
  const table: [string, KubeContextInfo, Partial<Record<keyof typeof detectors, LoadTarget['params']>>][] = [
    ['rancher-desktop', context('rancher-desktop', 'rancher-desktop'), {'rancher-desktop': {}}],
    ['a renamed Rancher Desktop context', context('laptop', 'rancher-desktop'), {'rancher-desktop': {}}],
    ['orbstack', context('orbstack', 'orbstack'), {orbstack: {}}],
    ['a renamed OrbStack context', context('mac', 'orbstack'), {orbstack: {}}],
    ["colima's default profile", context('colima', 'colima'), {colima: {profile: 'default'}}],
    ['colima-<profile>', context('colima-dev', 'colima-dev'), {colima: {profile: 'dev'}}],
    [
      'a renamed colima-<profile> context: the cluster entry names the profile',
      context('work', 'colima-k8s'),
      {colima: {profile: 'k8s'}},
    ],
    ['a context named colima-x whose cluster is another', context('colima-x', 'gke_proj_zone_name'), {}],
    ['colima-dev with no cluster entry read', context('colima-dev', undefined), {colima: {profile: 'dev'}}],
    ['"colima-" alone is no profile', context('colima-', 'colima-'), {}],
    ['rancher-desktop-like names are not Rancher Desktop', context('rancher-desktop-2', 'rancher-desktop-2'), {}],
    ['docker-desktop', context('docker-desktop', 'docker-desktop'), {}],
    ['kind-dev', context('kind-dev', 'kind-dev'), {}],
    ['k3d-x', context('k3d-x', 'k3d-x'), {}],
    ['gke_proj_zone_name', context('gke_proj_zone_name', 'gke_proj_zone_name'), {}],
  ]
  for (const [what, info, claims] of table) {
    it(`${what}: ${Object.keys(claims).join(', ') || 'none'} claims it`, () => {
      for (const [name, detect] of Object.entries(detectors)) {
        const params = claims[name as keyof typeof detectors]
        expect(detect(info, {forced: false}), name).to.deep.equal(
          params === undefined ? undefined : {context: info.name, params},
        )
      }
    })
  }

  it('when forced (--loader), takes any context; colima then means its default profile, as colima does', () => {
    const gke = context('gke_proj_zone_name', 'gke_proj_zone_name')
    expect(detectRancherDesktop(gke, {forced: true})).to.deep.equal({context: gke.name, params: {}})
    expect(detectOrbStack(gke, {forced: true})).to.deep.equal({context: gke.name, params: {}})
    expect(detectColima(gke, {forced: true})).to.deep.equal({context: gke.name, params: {profile: 'default'}})
    expect(detectColima(context('colima-dev', 'colima-dev'), {forced: true})).to.deep.equal({
      context: 'colima-dev',
      params: {profile: 'dev'},
    })
  })

  it("over the repository's kubeconfig fixtures, read as kudev reads them, claims none of them", async () => {
    for (const fixture of ['docker-desktop', 'docker-for-desktop', 'gke', 'k3d-x', 'kind-dev', 'minikube-profile']) {
      const info = contextInfo(
        await resolveKubeContext({
          env: {
            KUBECONFIG: fileURLToPath(new URL(`../../../test/fixtures/kubeconfig/${fixture}.yaml`, import.meta.url)),
          },
        }),
      )
      for (const [name, detect] of Object.entries(detectors))
        expect(detect(info, {forced: false}), `${name} on ${fixture}`).to.equal(undefined)
    }
  })
})
