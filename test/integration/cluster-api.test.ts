import {expect} from 'chai'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {apiGet} from '../../src/kube/api.js'
import {resolveKubeContext} from '../../src/kube/index.js'
import {nodePlatforms} from '../../src/kube/node-platforms.js'
import {advertisedRegistry, REMEMBER_MS} from '../../src/kube/registry-hosting.js'
import {
  HOSTING_PATH,
  hostingData,
  type KubeconfigOptions,
  NODES_PATH,
  type StandInApiServer,
  startApiServer,
  writeKubeconfig,
} from '../support/api-server.js'
import {freePort} from '../support/registry.js'

describe('cluster API reads (stand-in HTTPS API server)', function () {
  this.timeout(30_000)
  let dir: string
  let api: StandInApiServer

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kudev-api-'))
    api = await startApiServer(dir)
  })
  after(async () => {
    await api?.close()
    await rm(dir, {force: true, recursive: true})
  })
  beforeEach(() => {
    api.hosting = undefined
    api.forbidden.clear()
    api.delayMs = 0
    api.requests.length = 0
  })

  async function contextFor(options: KubeconfigOptions) {
    const file = await writeKubeconfig(api, dir, options)
    return resolveKubeContext({env: {KUBECONFIG: file}, home: dir})
  }

  for (const auth of ['certificate', 'token', 'exec'] as const) {
    it(`reads the ConfigMap as the kubeconfig's user authenticates (${auth})`, async () => {
      api.hosting = hostingData('localhost:5001')
      const answer = await apiGet(await contextFor({auth, context: `kind-${auth}`}), HOSTING_PATH)
      expect(answer).to.have.property('status', 'ok')
      expect(api.requests.at(-1)).to.deep.equal({
        auth: auth === 'certificate' ? 'certificate' : 'token',
        path: HOSTING_PATH,
      })
    })
  }

  it('trusts any server certificate with insecure-skip-tls-verify, and only the CA given otherwise', async () => {
    const skipping = await apiGet(await contextFor({auth: 'token', context: 'skip', skipTlsVerify: true}), NODES_PATH)
    expect(skipping).to.have.property('status', 'ok')
    const other = await startApiServer(await mkdtemp(path.join(dir, 'other-')))
    try {
      // The other server's certificate is signed by another CA than the kubeconfig's.
      const answer = await apiGet(await contextFor({auth: 'token', context: 'wrong-ca', server: other.url}), NODES_PATH)
      expect(answer).to.have.property('status', 'failed')
      expect((answer as {message: string}).message).to.match(/certificate|self.signed|verify/i)
    } finally {
      await other.close()
    }
  })

  it('answers "failed", without throwing, for a kubeconfig whose CA is not a certificate', async () => {
    const file = await writeKubeconfig(api, dir, {auth: 'token', context: 'bad-ca'})
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(
        /certificate-authority-data: \S+/,
        'certificate-authority-data: bm90IGEgY2VydA==',
      ),
    )
    const answer = await apiGet(await resolveKubeContext({env: {KUBECONFIG: file}, home: dir}), HOSTING_PATH)
    expect(answer).to.have.property('status', 'failed')
  })

  it('says 401 and 403 apart, with the API server’s message', async () => {
    const denied = await apiGet(await contextFor({auth: 'none', context: 'anonymous'}), HOSTING_PATH)
    expect(denied).to.deep.equal({code: 401, message: 'Unauthorized', status: 'denied'})
    api.forbidden.add(HOSTING_PATH)
    const forbidden = await apiGet(await contextFor({auth: 'token', context: 'rbac'}), HOSTING_PATH)
    expect(forbidden).to.include({code: 403, status: 'denied'})
    expect((forbidden as {message: string}).message).to.match(/^configmaps "local-registry-hosting" is forbidden/)
  })

  it('gives up on a server that does not answer within the time limit, and on one that is not there', async () => {
    api.delayMs = 5000
    const started = performance.now()
    const slow = await apiGet(await contextFor({auth: 'token', context: 'slow'}), HOSTING_PATH, {timeoutMs: 300})
    expect(performance.now() - started).to.be.below(2000)
    expect(slow).to.deep.equal({message: 'no answer within 0.3 s', status: 'failed'})
    const server = `https://127.0.0.1:${await freePort()}`
    const gone = await apiGet(await contextFor({auth: 'token', context: 'gone', server}), HOSTING_PATH)
    expect(gone).to.have.property('status', 'failed')
    expect((gone as {message: string}).message).to.match(/^ECONNREFUSED/)
  })

  it('lists the nodes’ platforms, or says why it cannot (RBAC)', async () => {
    api.nodes = [
      {name: 'a', platform: 'linux/arm64'},
      {name: 'b', platform: 'linux/amd64'},
      {name: 'c', platform: 'linux/arm64'},
    ]
    const context = await contextFor({auth: 'token', context: 'mixed'})
    expect(await nodePlatforms(context)).to.deep.equal({platforms: ['linux/amd64', 'linux/arm64']})
    api.forbidden.add(NODES_PATH)
    const forbidden = await nodePlatforms(context)
    expect((forbidden as {unknown: string}).unknown).to.match(/^cannot list the nodes: nodes is forbidden: User/)
    api.nodes = [{name: 'dev-control-plane', platform: 'linux/amd64'}]
  })

  describe('advertisedRegistry', () => {
    const env = () => ({KUDEV_CACHE_DIR: path.join(dir, 'cache')})

    it('reads localRegistryHosting.v1, and remembers the answer for that cluster', async () => {
      api.hosting = hostingData('localhost:5001', {
        hostFromContainerRuntime: 'kind-registry:5000',
        help: 'https://kind.sigs.k8s.io/docs/user/local-registry/',
      })
      const context = await contextFor({auth: 'certificate', context: 'kind-remember'})
      const first = await advertisedRegistry(context, {env: env()})
      expect(first).to.deep.include({
        hosting: {
          help: 'https://kind.sigs.k8s.io/docs/user/local-registry/',
          host: 'localhost:5001',
          hostFromContainerRuntime: 'kind-registry:5000',
        },
        source: 'cluster',
      })
      api.hosting = undefined
      const second = await advertisedRegistry(context, {env: env()})
      expect(second.source).to.equal('remembered')
      expect(second.hosting).to.deep.equal(first.hosting)
      expect(api.requests).to.have.length(1)
      // A day later, or when asked fresh (kudev doctor), the cluster is asked again.
      const later = await advertisedRegistry(context, {env: env(), now: Date.now() + REMEMBER_MS + 1})
      expect([later.hosting, later.source]).to.deep.equal([undefined, 'cluster'])
      api.hosting = hostingData('localhost:5002')
      expect((await advertisedRegistry(context, {env: env(), fresh: true})).hosting).to.deep.equal({
        host: 'localhost:5002',
      })
    })

    it('asks again when the cluster was created again under the same name (new CA, new server)', async () => {
      api.hosting = hostingData('localhost:5001')
      const context = await contextFor({auth: 'token', context: 'kind-again'})
      await advertisedRegistry(context, {env: env()})
      const recreated = await startApiServer(await mkdtemp(path.join(dir, 'recreated-')))
      try {
        recreated.hosting = hostingData('localhost:5009')
        const file = await writeKubeconfig(recreated, dir, {auth: 'token', context: 'kind-again'})
        const again = await resolveKubeContext({env: {KUBECONFIG: file}, home: dir})
        expect(again.clusterIdentity).to.not.equal(context.clusterIdentity)
        const answer = await advertisedRegistry(again, {env: env()})
        expect(answer).to.deep.include({hosting: {host: 'localhost:5009'}, source: 'cluster'})
      } finally {
        await recreated.close()
      }
    })

    it('a forbidden read means no registry, remembered, with a note; an unreachable server is not remembered', async () => {
      api.forbidden.add(HOSTING_PATH)
      const context = await contextFor({auth: 'token', context: 'kind-rbac'})
      const forbidden = await advertisedRegistry(context, {env: env()})
      expect([forbidden.hosting, forbidden.source]).to.deep.equal([undefined, 'cluster'])
      expect(forbidden.notes[0]).to.match(
        /^cannot read ConfigMap kube-public\/local-registry-hosting: configmaps .* is forbidden/,
      )
      expect((await advertisedRegistry(context, {env: env()})).source).to.equal('remembered')

      const server = `https://127.0.0.1:${await freePort()}`
      const gone = await contextFor({auth: 'token', context: 'kind-gone', server})
      const unknown = await advertisedRegistry(gone, {env: env()})
      expect([unknown.hosting, unknown.source]).to.deep.equal([undefined, 'unknown'])
      expect(unknown.notes[0]).to.match(/^cannot ask the cluster for a registry: ECONNREFUSED/)
      expect((await advertisedRegistry(gone, {env: env()})).source).to.equal('unknown')
    })
  })
})
