/**
 * The k3d loader against k3d-style node containers running a real containerd (a server, an agent and a
 * load balancer), with the k3d stand-in (test/fixtures/bin/k3d) first on PATH for --full-load: the loader
 * runs programs through the core's exec, which inherits this process's environment, so PATH is set here for
 * the suite and restored afterwards.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import path from 'node:path'

import {docker, requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {buildUniqueImage} from '../../../test/support/images.js'
import {
  createK3dCluster,
  ensureNodeImage,
  nodeImageIds,
  readStandInLog,
  removeAll,
  standInEnv,
  type TestCluster,
} from '../../../test/support/nodes.js'
import {K3dLoader} from '../src/loader.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`

describe('k3d loader (integration: stand-in k3d, containerd nodes)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const saved = {log: process.env.KUDEV_FAKE_K3D_LOG, path: process.env.PATH}
  let tmp: string
  let toolkit: TestToolkit
  let cluster: TestCluster
  let k3dLog: string

  const buildImage = (name: string) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), ref: `kudev-test/k3d-loader-${name}:${suffix}`})
  const target = (name: string) => ({context: `k3d-${name}`, params: {cluster: name}})
  const serverlb = () => `k3d-${cluster.name}-serverlb`

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-k3d-loader-test-')
    k3dLog = path.join(tmp, 'k3d.jsonl')
    process.env.PATH = standInEnv().PATH
    process.env.KUDEV_FAKE_K3D_LOG = k3dLog
    toolkit = realToolkit()
    cluster = await createK3dCluster(`kd${suffix}`, {agents: 1})
  })

  after(async function () {
    this.timeout(120_000)
    process.env.PATH = saved.path
    if (saved.log === undefined) delete process.env.KUDEV_FAKE_K3D_LOG
    else process.env.KUDEV_FAKE_K3D_LOG = saved.log
    await removeAll()
  })

  it('loads trimmed into the server and the agent, not the load balancer, and skips nodes that have it', async () => {
    const image = await buildImage('trimmed')
    const loader = new K3dLoader(toolkit)
    expect(await loader.has(image, target(cluster.name))).to.equal(false)
    const report = await loader.load(image, target(cluster.name), new AbortController().signal)
    expect(report.method).to.equal('trimmed per node')
    expect(report.nodes.map((node) => node.node).sort()).to.deep.equal([...cluster.nodes].sort())
    for (const node of cluster.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await nodeImageIds(serverlb()), 'the load balancer').to.not.include(image.id)
    expect(await loader.has(image, target(cluster.name))).to.equal(true)
    const again = await loader.load(image, target(cluster.name), new AbortController().signal)
    expect(again.nodes, 'nodes that have it are skipped').to.deep.equal([])
  })

  it('--full-load imports through k3d image import into every server and agent node, and checks them', async () => {
    const image = await buildImage('full')
    const loader = new K3dLoader(toolkit)
    await loader.check(target(cluster.name), {full: true})
    const report = await loader.load(image, target(cluster.name), new AbortController().signal, {full: true})
    expect(report.method).to.equal('k3d image import')
    for (const node of cluster.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await nodeImageIds(serverlb())).to.not.include(image.id)
    const log = await readStandInLog(k3dLog)
    expect(log.map((entry) => entry.argv)).to.deep.include(['image', 'import', '-c', cluster.name, image.ref])
    expect(
      log
        .filter((entry) => entry.event === 'import')
        .map((entry) => String(entry.node))
        .sort((a, b) => a.localeCompare(b)),
    ).to.deep.equal([...cluster.nodes].sort())
  })

  it('without k3d on PATH: doctor says it is needed only for --full-load, and --full-load says how to install it', async function () {
    if ((await execa('sh', ['-c', 'command -v k3d'], {env: {PATH: saved.path}, reject: false})).exitCode === 0)
      this.skip()
    process.env.PATH = saved.path
    try {
      const loader = new K3dLoader(toolkit)
      const [row] = await loader.diagnose(target(cluster.name))
      expect(row).to.deep.include({name: 'k3d', ok: true, summary: 'not installed: needed only for --full-load'})
      const error = await rejection(loader.check(target(cluster.name), {full: true}))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal('k3d is not installed (not found on PATH)')
      expect(error.hint).to.include('https://k3d.io/#installation')
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })

  it('a cluster without nodes fails with the cluster named and how to create it', async () => {
    const error = await rejection(new K3dLoader(toolkit).check(target(`none${suffix}`)))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(`no k3d nodes found for cluster "none${suffix}" (context k3d-none${suffix})`)
    expect(error.hint).to.include(`k3d cluster create none${suffix}`)
  })

  it('a stopped node fails before anything is built, with k3d cluster start', async () => {
    const stopped = await createK3dCluster(`ks${suffix}`)
    try {
      await docker(['stop', '-t', '0', stopped.nodes[0]!])
      const error = await rejection(new K3dLoader(toolkit).check(target(stopped.name)))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `k3d cluster "${stopped.name}" is not running: node "${stopped.nodes[0]}" is exited`,
      )
      expect(error.hint).to.equal(`start it: k3d cluster start ${stopped.name}`)
    } finally {
      await stopped.remove()
    }
  })
})
