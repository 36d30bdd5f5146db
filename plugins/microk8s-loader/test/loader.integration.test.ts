/**
 * The microk8s loader against a microk8s-style node (a container running a real containerd) with the
 * microk8s stand-in (test/fixtures/bin/microk8s) first on PATH: the loader runs programs through the core's
 * exec, which inherits this process's environment, so PATH is set here and restored afterwards.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {buildUniqueImage} from '../../../test/support/images.js'
import {
  createMicrok8sNode,
  ensureNodeImage,
  nodeImages,
  readStandInLog,
  removeAll,
  standInEnv,
  type TestCluster,
  waitForContainerd,
} from '../../../test/support/nodes.js'
import {Microk8sLoader} from '../src/loader.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`
const target = {context: 'microk8s', params: {}}

describe('microk8s loader (integration: stand-in microk8s, a containerd node)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const savedPath = process.env.PATH
  const savedLog = process.env.KUDEV_FAKE_MICROK8S_LOG
  let tmp: string
  let log: string
  let toolkit: TestToolkit
  let node: TestCluster

  const buildImage = (name: string) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), ref: `kudev-test/microk8s-loader-${name}:${suffix}`})
  const microk8sRuns = async () =>
    (await readStandInLog(log)).filter((entry) => entry.argv !== undefined).map((entry) => entry.argv!)
  /** The image ID each ref points at in the node's k8s.io namespace. */
  const named = async () => new Map((await nodeImages(node.nodes[0]!)).map((entry) => [entry.ref, entry.id]))

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-test-microk8s-loader-')
    log = path.join(tmp, 'microk8s.jsonl')
    process.env.PATH = standInEnv().PATH
    process.env.KUDEV_FAKE_MICROK8S_LOG = log
    toolkit = realToolkit()
    node = await createMicrok8sNode(`kudev-microk8s-${suffix}`)
  })

  after(async function () {
    this.timeout(120_000)
    process.env.PATH = savedPath
    if (savedLog === undefined) delete process.env.KUDEV_FAKE_MICROK8S_LOG
    else process.env.KUDEV_FAKE_MICROK8S_LOG = savedLog
    await removeAll()
  })

  it('loads with microk8s images import: the name points at the ID afterwards, and a second run is skipped', async () => {
    const loader = new Microk8sLoader(toolkit)
    const image = await buildImage('app')
    await loader.check(target)
    expect(await loader.has(image)).to.equal(false)
    const report = await loader.load(image, target, new AbortController().signal)
    expect(report).to.deep.equal({method: 'microk8s images import', nodes: []})
    expect((await named()).get(`docker.io/${image.ref}`)).to.equal(image.id)
    expect(await loader.has(image)).to.equal(true)
    const imports = (await microk8sRuns()).filter((argv) => argv[0] === 'images')
    expect(imports.map((argv) => argv.slice(0, 2))).to.deep.equal([['images', 'import']])
    expect((await readdir(tmpdir())).filter((entry) => entry.startsWith('kudev-microk8s-'))).to.deep.equal([])
  })

  it("imports an image that is not in Docker from its builder's save()", async () => {
    const built = await buildImage('saved')
    const image = {...built, inDockerDaemon: false, save: () => toolkit.execOutput('docker', ['save', built.ref])}
    await new Microk8sLoader(toolkit).load(image, target, new AbortController().signal)
    expect((await named()).get(`docker.io/${built.ref}`)).to.equal(built.id)
  })

  it('answers has() false once the name points at another image', async () => {
    const loader = new Microk8sLoader(toolkit)
    const first = await buildImage('moved')
    await loader.load(first, target, new AbortController().signal)
    const rebuilt = await buildImage('moved')
    expect(rebuilt.id).to.not.equal(first.id)
    expect(await loader.has(rebuilt)).to.equal(false)
    await loader.load(rebuilt, target, new AbortController().signal)
    expect((await named()).get(`docker.io/${rebuilt.ref}`)).to.equal(rebuilt.id)
  })

  it('refuses a stopped MicroK8s before building, with how to start it; doctor says the same', async () => {
    await execa('docker', ['stop', '--time', '1', node.nodes[0]!])
    try {
      const loader = new Microk8sLoader(toolkit)
      const error = await rejection(loader.check(target))
      expect([error.code, error.message, error.hint]).to.deep.equal([
        'load',
        'MicroK8s is stopped (kube context microk8s)',
        'start it: microk8s start',
      ])
      const rows = await loader.diagnose(target)
      expect(rows[0]).to.deep.equal({name: 'microk8s', ok: true, summary: 'MicroK8s v1.32.3 revision 8148'})
      expect(rows[1]).to.deep.include({name: 'cluster', ok: false, hint: 'start it: microk8s start'})
    } finally {
      await execa('docker', ['start', node.nodes[0]!])
      await waitForContainerd(node.nodes[0]!)
    }

    const rows = await new Microk8sLoader(toolkit).diagnose(target)
    expect(rows[1]).to.deep.equal({name: 'cluster', ok: true, summary: 'MicroK8s is running'})
  })

  it('says microk8s is not installed, with how to install it, when it is not on PATH', async () => {
    process.env.PATH = savedPath
    try {
      const error = await rejection(new Microk8sLoader(toolkit).check(target))
      expect([error.code, error.message, error.hint]).to.deep.equal([
        'load',
        'microk8s is not installed (not found on PATH)',
        'install MicroK8s: sudo snap install microk8s --classic',
      ])
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })
})
