import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {Readable} from 'node:stream'

import {K3dLoader} from '../src/loader.js'

const CONFIG = `sha256:${'c'.repeat(64)}`
const target = {context: 'k3d-dev', params: {cluster: 'dev'}}
const signal = new AbortController().signal
const CLASSIC_INFO = 'linux\tx86_64\t[["Backing Filesystem","extfs"],["Supports d_type","true"]]'
const NODES = 'docker ps -a --filter label=k3d.cluster=dev --format {{.Names}}\t{{.State}}\t{{.Label "k3d.role"}}'

function image(): LoadableImage {
  return {id: CONFIG, inDockerDaemon: true, ref: 'app:1', save: () => Promise.resolve(Readable.from(['tar']))}
}

/**
 * A k3d cluster as docker shows it: a server, an agent, the load balancer and a tools node (all labelled
 * with the cluster); `has` lists the nodes whose app:1 is the image; `k3d` answers the k3d CLI.
 */
function cluster(options: {rows?: string; has?: string[]; afterImport?: string[]; k3d?: Answer | undefined} = {}) {
  let has = options.has ?? []
  const rows =
    options.rows ??
    [
      'k3d-dev-agent-0\trunning\tagent',
      'k3d-dev-serverlb\trunning\tloadbalancer',
      'k3d-dev-server-0\trunning\tserver',
      'k3d-dev-tools\trunning\tnoRole',
    ].join('\n')
  const toolkit = fakeToolkit((command) => {
    const line = command.join(' ')
    if (line === NODES) return {stdout: `${rows}\n`}
    if (line.startsWith('docker info')) return {stdout: `${CLASSIC_INFO}\n`}
    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (ls) {
      const header = 'REF TYPE DIGEST SIZE PLATFORMS LABELS'
      const row = `${ls[2]} application/vnd.docker.distribution.manifest.v2+json ${CONFIG} 1 KiB linux/amd64 -`
      return {stdout: has.includes(ls[1]!) ? `${header}\n${row}\n` : `${header}\n`}
    }

    if (command[0] === 'k3d') {
      if (command[1] === 'image') has = options.afterImport ?? has
      return 'k3d' in options ? options.k3d : {stdout: 'k3d version v5.9.0\nk3s version v1.35.5-k3s1 (default)\n'}
    }

    return undefined
  })
  return toolkit
}

describe('k3d loader', () => {
  it('checks only the server and agent nodes, skipping the load balancer and the tools node', async () => {
    const toolkit = cluster({has: ['k3d-dev-server-0', 'k3d-dev-agent-0']})
    expect(await new K3dLoader(toolkit).has(image(), target)).to.equal(true)
    const asked = toolkit.commands.map((c) => c.join(' ')).filter((l) => l.includes('ctr'))
    expect(asked.some((l) => l.includes('serverlb') || l.includes('tools'))).to.equal(false)
    expect(asked).to.have.length(2)
  })

  it('has() is false when one node lacks the image', async () => {
    expect(await new K3dLoader(cluster({has: ['k3d-dev-server-0']})).has(image(), target)).to.equal(false)
  })

  it('check() fails on a stopped node with the k3d cluster start hint (exit code of load)', async () => {
    const toolkit = cluster({rows: 'k3d-dev-server-0\texited\tserver\nk3d-dev-agent-0\trunning\tagent'})
    const error = await rejection(new K3dLoader(toolkit).check(target))
    expect(error.message).to.equal('k3d cluster "dev" is not running: node "k3d-dev-server-0" is exited')
    expect(error.hint).to.equal('start it: k3d cluster start dev')
    expect(error.code).to.equal('load')
  })

  it('without nodes: names the cluster, and the hint fits whether k3d is installed', async () => {
    const installed = await rejection(
      new K3dLoader(cluster({rows: 'k3d-dev-serverlb\trunning\tloadbalancer'})).check(target),
    )
    expect(installed.message).to.equal('no k3d nodes found for cluster "dev" (context k3d-dev)')
    expect(installed.hint).to.include('k3d cluster create dev')
    expect(installed.hint).to.include('k3d cluster list')
    const missing = await rejection(new K3dLoader(cluster({k3d: {exitCode: 127}, rows: ''})).check(target))
    expect(missing.code).to.equal('load')
    expect(missing.hint).to.include('install k3d')
    expect(missing.hint).to.include('docker ps -a --filter label=k3d.cluster')
  })

  it('a context that names no k3d cluster is a kube error', async () => {
    const error = await rejection(new K3dLoader(cluster()).check({context: 'prod', params: {}}))
    expect(error.code).to.equal('kube')
    expect(error.message).to.include('"prod"')
  })

  it('--full-load runs k3d image import -c <cluster> <image> and checks every node afterwards', async () => {
    const toolkit = cluster({afterImport: ['k3d-dev-server-0', 'k3d-dev-agent-0']})
    const report = await new K3dLoader(toolkit).load(image(), target, signal, {full: true})
    expect(report).to.deep.equal({method: 'k3d image import', nodes: []})
    expect(toolkit.commands).to.deep.include(['k3d', 'image', 'import', '-c', 'dev', 'app:1'])
  })

  it('--full-load fails naming the nodes that still lack the image when k3d exited 0 (it only logs node failures)', async () => {
    const toolkit = cluster({afterImport: ['k3d-dev-server-0']})
    const error = await rejection(new K3dLoader(toolkit).load(image(), target, signal, {full: true}))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(
      `k3d image import -c dev app:1 exited 0, but node "k3d-dev-agent-0" of cluster "dev" does not have app:1 (${CONFIG})`,
    )
  })

  it("a failed k3d import reports k3d's last ERRO line", async () => {
    const stderr =
      "\u001B[31mERRO\u001B[0m[0000] Failed to import image(s) into cluster 'dev': no valid images specified\n" +
      '\u001B[33mWARN\u001B[0m[0000] At least one error occured while trying to import the image(s) into the selected cluster(s)\n'
    const toolkit = cluster({k3d: {exitCode: 1, stderr}})
    const error = await rejection(new K3dLoader(toolkit).load(image(), target, signal, {full: true}))
    expect(error.message).to.equal(
      "k3d image import -c dev app:1 failed: Failed to import image(s) into cluster 'dev': no valid images specified",
    )
  })

  it('--full-load of an image Docker does not hold saves it and imports the archive', async () => {
    const toolkit = cluster({afterImport: ['k3d-dev-server-0', 'k3d-dev-agent-0']})
    const saved: string[] = []
    toolkit.saveImage = async (_image, file) => {
      saved.push(file)
    }

    const report = await new K3dLoader(toolkit).load({...image(), inDockerDaemon: false}, target, signal, {full: true})
    expect(report.method).to.equal('k3d image import')
    expect(saved).to.have.length(1)
    expect(toolkit.commands).to.deep.include(['k3d', 'image', 'import', '-c', 'dev', saved[0]!])
  })

  it('doctor: the k3d version and the running nodes', async () => {
    const rows = await new K3dLoader(cluster()).diagnose(target)
    expect(rows.map((row) => [row.name, row.ok, row.summary])).to.deep.equal([
      ['k3d', true, 'k3d version v5.9.0'],
      ['cluster', true, 'k3d cluster "dev": nodes "k3d-dev-agent-0", "k3d-dev-server-0" running'],
    ])
  })
})
