import {expect} from 'chai'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {contextNames, readKubeconfig, resolveKubeContext, selectKubeContext} from '../../../src/kube/index.js'
import {fixture, kubeconfigEnv, kubeError, useTempDir} from './helpers.js'

describe('kube/context', () => {
  const temp = useTempDir()

  describe('the context each local-cluster tool writes', () => {
    const cases = [
      {fixture: 'kind-dev', name: 'kind-dev', cluster: 'kind-dev', server: 'https://127.0.0.1:38617', user: 'kind-dev'},
      {
        fixture: 'minikube-profile',
        name: 'kudev-demo',
        cluster: 'kudev-demo',
        server: 'https://192.168.49.2:8443',
        user: 'kudev-demo',
        namespace: 'default',
      },
      {
        fixture: 'docker-desktop',
        name: 'docker-desktop',
        cluster: 'docker-desktop',
        server: 'https://kubernetes.docker.internal:6443',
        user: 'docker-desktop',
      },
      {
        fixture: 'docker-for-desktop',
        name: 'docker-for-desktop',
        cluster: 'docker-for-desktop-cluster',
        server: 'https://localhost:6443',
        user: 'docker-for-desktop',
      },
      {fixture: 'k3d-x', name: 'k3d-x', cluster: 'k3d-x', server: 'https://0.0.0.0:6550', user: 'admin@k3d-x'},
      {
        fixture: 'gke',
        name: 'gke_proj_zone_name',
        cluster: 'gke_proj_zone_name',
        server: 'https://34.118.12.34',
        user: 'gke_proj_zone_name',
        namespace: 'team-a',
      },
    ]
    for (const expected of cases) {
      it(`reads ${expected.name} from ${expected.fixture}.yaml`, async () => {
        const context = await resolveKubeContext({env: kubeconfigEnv(expected.fixture)})
        expect(context).to.include({
          name: expected.name,
          cluster: expected.cluster,
          server: expected.server,
          clusterDefined: true,
          namespace: expected.namespace,
          user: expected.user,
          source: 'current-context',
          file: fixture(expected.fixture),
        })
        expect(context.files).to.deep.equal([fixture(expected.fixture)])
      })
    }

    it("exposes minikube's extensions from the context and from the cluster entry, by name", async () => {
      const context = await resolveKubeContext({env: kubeconfigEnv('minikube-profile')})
      expect(context.extensions).to.deep.equal({
        context_info: {
          'last-update': 'Mon, 24 Nov 2025 11:02:13 UTC',
          provider: 'minikube.sigs.k8s.io',
          version: 'v1.33.1',
        },
      })
      expect(context.clusterExtensions).to.have.nested.property('cluster_info.provider', 'minikube.sigs.k8s.io')
      expect(context.clusterExtensions).to.have.nested.property('cluster_info.version', 'v1.33.1')
    })

    it('gives empty extensions when the kubeconfig has none', async () => {
      const context = await resolveKubeContext({env: kubeconfigEnv('kind-dev')})
      expect(context.extensions).to.deep.equal({})
      expect(context.clusterExtensions).to.deep.equal({})
    })

    it('still returns a context whose cluster entry is missing, without a server', async () => {
      const context = await resolveKubeContext({env: kubeconfigEnv('missing-cluster')})
      expect(context).to.include({name: 'kind-gone', cluster: 'kind-gone', clusterDefined: false, user: 'kind-gone'})
      expect(context.server).to.equal(undefined)
      expect(context.clusterExtensions).to.deep.equal({})
    })
  })

  describe('precedence: --kube-context > spec.kubeContext > current-context', () => {
    // current-context is kind-dev (first file); the other files add docker-desktop and k3d-x.
    const env = kubeconfigEnv('kind-dev', 'docker-desktop', 'k3d-x')

    it('uses the flag over the configured value and current-context', async () => {
      const context = await resolveKubeContext({env, flag: 'docker-desktop', configured: 'k3d-x'})
      expect(context).to.include({name: 'docker-desktop', source: 'flag', file: fixture('docker-desktop')})
      expect(context.server).to.equal('https://kubernetes.docker.internal:6443')
    })

    it('uses the configured value over current-context', async () => {
      const context = await resolveKubeContext({env, configured: 'k3d-x'})
      expect(context).to.include({name: 'k3d-x', source: 'config', file: fixture('k3d-x')})
    })

    it('falls back to current-context', async () => {
      const context = await resolveKubeContext({env})
      expect(context).to.include({name: 'kind-dev', source: 'current-context', file: fixture('kind-dev')})
      expect(context.files).to.deep.equal([fixture('kind-dev'), fixture('docker-desktop'), fixture('k3d-x')])
    })

    it('treats an empty flag or configured value as not given', async () => {
      expect(await resolveKubeContext({env, flag: '', configured: 'k3d-x'})).to.include({
        name: 'k3d-x',
        source: 'config',
      })
      expect(await resolveKubeContext({env, configured: ''})).to.include({name: 'kind-dev', source: 'current-context'})
    })

    it('lets a flag pick a context from a file without current-context', async () => {
      const context = await resolveKubeContext({env: kubeconfigEnv('no-current-context'), flag: 'kind-two'})
      expect(context).to.include({name: 'kind-two', server: 'https://127.0.0.1:40002', source: 'flag'})
    })

    it('selects several times from one read (as doctor does)', async () => {
      const kubeconfig = await readKubeconfig({env})
      expect(selectKubeContext(kubeconfig).name).to.equal('kind-dev')
      expect(selectKubeContext(kubeconfig, {flag: 'k3d-x'}).name).to.equal('k3d-x')
    })
  })

  describe('contextNames', () => {
    it('lists every context of the merged files, sorted, each once', async () => {
      const kubeconfig = await readKubeconfig({env: kubeconfigEnv('merge-second', 'kind-dev', 'merge-first')})
      expect(contextNames(kubeconfig)).to.deep.equal(['kind-dev', 'only-in-second', 'shared'])
    })
  })

  describe('errors', () => {
    it('reports no current-context and none given, naming the file and the available contexts', async () => {
      const error = await kubeError(resolveKubeContext({env: kubeconfigEnv('no-current-context')}))
      expect(error.message).to.equal(
        `no kube context selected: current-context is not set in ${fixture('no-current-context')}`,
      )
      expect(error.hint)
        .to.include('kubectl config use-context NAME')
        .and.include('--kube-context NAME')
        .and.include('spec.kubeContext')
      expect(error.details).to.deep.equal(['available contexts: kind-one, kind-two'])
    })

    it('names every file read when none sets current-context', async () => {
      const other = path.join(temp(), 'other.yaml')
      await writeFile(other, 'contexts:\n- name: extra\n  context: {cluster: extra}\n')
      const env = {KUBECONFIG: [fixture('no-current-context'), other].join(path.delimiter)}
      const error = await kubeError(resolveKubeContext({env, home: temp()}))
      expect(error.message).to.equal(
        'no kube context selected: current-context is not set in any of ' +
          `${fixture('no-current-context')}, ${path.join('~', 'other.yaml')}`,
      )
      expect(error.details).to.deep.equal(['available contexts: extra, kind-one, kind-two'])
    })

    it('suggests starting a cluster when the kubeconfig has no contexts at all', async () => {
      const file = path.join(temp(), 'config')
      await writeFile(file, 'apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: ""\nkind: Config\n')
      const error = await kubeError(resolveKubeContext({env: {KUBECONFIG: file}, home: '/nonexistent-home'}))
      expect(error.message).to.equal(`no kube contexts defined in ${file}`)
      expect(error.hint).to.include('kind create cluster')
    })

    it('reports an unknown --kube-context with where it came from and a did-you-mean', async () => {
      const env = kubeconfigEnv('kind-dev', 'docker-desktop')
      const error = await kubeError(resolveKubeContext({env, flag: 'kind-deb', configured: 'docker-desktop'}))
      expect(error.message).to.equal(
        `kube context "kind-deb" (from --kube-context) not found in any of ${fixture(
          'kind-dev',
        )}, ${fixture('docker-desktop')}`,
      )
      expect(error.hint).to.equal('did you mean "kind-dev"?')
      expect(error.details).to.deep.equal(['available contexts: docker-desktop, kind-dev'])
      expect(error.data).to.include({context: 'kind-deb', source: 'flag', suggestion: 'kind-dev'})
    })

    it('reports an unknown spec.kubeContext and says how to fix it when nothing is close', async () => {
      const error = await kubeError(resolveKubeContext({env: kubeconfigEnv('kind-dev'), configured: 'production'}))
      expect(error.message).to.equal(
        `kube context "production" (from spec.kubeContext in .kudev.yaml) not found in ${fixture('kind-dev')}`,
      )
      expect(error.hint).to.equal('set spec.kubeContext in .kudev.yaml to one of the available contexts')
      expect(error.details).to.deep.equal(['available contexts: kind-dev'])
    })

    it('reports a current-context that names a deleted context, naming the file that set it', async () => {
      const file = path.join(temp(), 'config')
      await writeFile(file, 'contexts:\n- name: kind-dev\n  context: {cluster: kind-dev}\ncurrent-context: minikube\n')
      const error = await kubeError(resolveKubeContext({env: {KUBECONFIG: file}, home: '/nonexistent-home'}))
      expect(error.message).to.equal(`kube context "minikube" (from current-context in ${file}) not found in ${file}`)
      expect(error.hint).to.equal('switch to an existing context: kubectl config use-context NAME')
      expect(error.data).to.include({source: 'current-context'})
    })
  })
})
