/**
 * The minikube loader against minikube-style node containers running a real containerd, with the
 * minikube stand-in (test/fixtures/bin/minikube) first on PATH: the loader runs programs through the
 * core's exec, which inherits this process's environment, so PATH is set here and restored afterwards.
 * The stand-in's profiles are on the docker driver with containerd, so by default the loader sends the
 * nodes what they lack itself; --full-load, or KUDEV_FAKE_MINIKUBE_DRIVER=kvm2, takes minikube image load.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import type {LoadableImage} from 'kudev'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {mkdir, readdir, rm, writeFile} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {docker, requireDocker, suiteCleanup, uniqueName} from '../../../test/support/docker.js'
import {
  createMinikubeProfile,
  ensureNodeImage,
  hostImageId,
  nodeImageIds,
  nodeImageRefs,
  readStandInLog,
  removeAll,
  STAND_IN_BIN,
  standInEnv,
  type TestCluster,
  waitForContainerd,
} from '../../../test/support/nodes.js'
import {MinikubeLoader} from '../src/loader.js'
import {processes, waitFor} from '../../../test/support/processes.js'
import {buildUniqueImage} from '../../../test/support/images.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`
/** --full-load: minikube image load (the stand-in), as minikube users know it. */
const FULL = {full: true}

describe('minikube loader (integration: stand-in minikube, containerd nodes)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const savedPath = process.env.PATH
  const savedLog = process.env.KUDEV_FAKE_MINIKUBE_LOG
  let tmp: string
  let minikubeLog: string
  let toolkit: TestToolkit
  let profile: TestCluster

  const buildImage = (name: string, padding = 0) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), padding, ref: `kudev-test/minikube-loader-${name}:${suffix}`})

  /** `FROM <from>` plus a file of `bytes` random bytes: a new layer on top of `from`'s. */
  async function buildOn(name: string, from: string, bytes: number): Promise<LoadableImage> {
    const dir = path.join(tmp, name)
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'layer.bin'), Buffer.concat([Buffer.from(uniqueName(name)), randomBytes(bytes)]))
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${from}\nCOPY layer.bin /${name}.bin\n`)
    const ref = cleanup.image(`kudev-test/minikube-loader-${name}:${suffix}`)
    await docker(['build', '-q', '-t', ref, dir], {timeout: 120_000})
    return {
      id: await hostImageId(ref),
      inDockerDaemon: true,
      ref,
      save: () => Promise.reject(new Error('not expected')),
    }
  }

  const minikubeRuns = async () =>
    (await readStandInLog(minikubeLog)).filter((entry) => entry.argv !== undefined).map((entry) => entry.argv!)
  const target = () => ({context: profile.name, params: {profile: profile.name}})
  const leftovers = async (prefix = 'kudev-minikube-') =>
    (await readdir(tmpdir())).filter((entry) => entry.startsWith(prefix))

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-minikube-loader-test-')
    minikubeLog = path.join(tmp, 'minikube.jsonl')
    process.env.PATH = standInEnv().PATH
    process.env.KUDEV_FAKE_MINIKUBE_LOG = minikubeLog
    toolkit = realToolkit()
    profile = await createMinikubeProfile(`mk${suffix}`, {nodes: 2})
  })

  after(async function () {
    this.timeout(120_000)
    process.env.PATH = savedPath
    if (savedLog === undefined) delete process.env.KUDEV_FAKE_MINIKUBE_LOG
    else process.env.KUDEV_FAKE_MINIKUBE_LOG = savedLog
    await removeAll()
  })

  it('sends each node only the layer it lacks, without minikube image load; the nodes list it, and the report says trimmed', async () => {
    const loader = new MinikubeLoader(toolkit)
    const base = await buildOn('base', 'scratch', 4 * 1024 * 1024)
    const first = await loader.load(base, target(), new AbortController().signal)
    expect(first.method).to.equal('trimmed per node')
    expect(first.nodes.map((node) => node.node)).to.deep.equal(profile.nodes)

    // The app image: the base layer, which both nodes now hold, plus a small one.
    const app = await buildOn('app', base.ref, 1024)
    expect(await loader.has(app, target())).to.equal(false)
    const runs = (await minikubeRuns()).length
    const report = await loader.load(app, target(), new AbortController().signal)
    expect(report.method).to.equal('trimmed per node')
    expect(report.nodes.map((node) => node.node)).to.deep.equal(profile.nodes)
    for (const node of report.nodes) {
      expect(node, node.node).to.include({blobsSkipped: 1, mode: 'trimmed'})
      expect(node.bytesSkipped, node.node).to.be.at.least(4 * 1024 * 1024)
      expect(node.bytesSent, node.node).to.be.below(1024 * 1024)
    }

    for (const node of profile.nodes) {
      expect(await nodeImageIds(node), node).to.include(app.id)
      expect(await nodeImageRefs(node), node).to.include(`docker.io/${app.ref}`)
    }

    const ran = (await minikubeRuns()).slice(runs)
    expect(ran, 'minikube only listed the profiles').to.deep.equal([['profile', 'list', '--output', 'json', '--light']])
    expect(await loader.has(app, target())).to.equal(true)
    const again = await loader.load(app, target(), new AbortController().signal)
    expect(again, 'a node that has it is skipped').to.deep.equal({method: 'trimmed per node', nodes: []})
  })

  it('leaves a stopped node out, as minikube image load does', async () => {
    const image = await buildImage('stopped')
    await execa('docker', ['stop', '--time', '1', profile.nodes[1]!])
    try {
      const report = await new MinikubeLoader(toolkit).load(image, target(), new AbortController().signal)
      expect(report.method).to.equal('trimmed per node')
      expect(report.nodes.map((node) => node.node)).to.deep.equal([profile.nodes[0]])
      expect(toolkit.logs.debug).to.include(
        `minikube node "${profile.nodes[1]}" is exited: not loaded, as minikube image load leaves it`,
      )
    } finally {
      await execa('docker', ['start', profile.nodes[1]!])
      await waitForContainerd(profile.nodes[1]!)
    }

    expect(await nodeImageIds(profile.nodes[0]!)).to.include(image.id)
    expect(await nodeImageIds(profile.nodes[1]!)).not.to.include(image.id)
  })

  it('--full-load loads into both nodes with minikube image load --daemon; has() is false before and true after', async () => {
    const image = await buildImage('daemon')
    const loader = new MinikubeLoader(toolkit)
    expect(await loader.has(image, target())).to.equal(false)
    const report = await loader.load(image, target(), new AbortController().signal, FULL)
    expect(report).to.deep.equal({method: 'minikube image load', nodes: []})
    for (const node of profile.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await loader.has(image, target())).to.equal(true)
  })

  it('--full-load loads an image that is not in the Docker daemon through its save(), removing the archive', async () => {
    const image = await buildImage('archive')
    const before = await leftovers()
    const fromBuilder: LoadableImage = {
      ...image,
      inDockerDaemon: false,
      async save() {
        const {done, stdout} = await toolkit.execStream('docker', ['save', image.ref])
        done.catch(() => {})
        return stdout
      },
    }
    await new MinikubeLoader(toolkit).load(fromBuilder, target(), new AbortController().signal, FULL)
    for (const node of profile.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await leftovers()).to.deep.equal(before)
  })

  it('on a VM driver, loads with minikube image load, says why, and reports a load minikube says succeeded but did nothing', async () => {
    const image = await buildImage('silent')
    process.env.KUDEV_FAKE_MINIKUBE_DRIVER = 'kvm2'
    process.env.KUDEV_FAKE_MINIKUBE_SILENT_FAIL = '1'
    try {
      const error = await rejection(new MinikubeLoader(toolkit).load(image, target(), new AbortController().signal))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `minikube -p ${profile.name} image load ${image.ref} --daemon exited 0, but profile "${profile.name}" does not have ${image.ref} (${image.id})`,
      )
      expect(error.hint).to.include('https://github.com/kubernetes/minikube/issues/23023')
      expect(toolkit.logs.debug).to.include(
        `minikube profile "${profile.name}": its driver "kvm2" does not run its nodes as containers, so minikube image load loads it`,
      )
      delete process.env.KUDEV_FAKE_MINIKUBE_SILENT_FAIL
      const report = await new MinikubeLoader(toolkit).load(image, target(), new AbortController().signal)
      expect(report).to.deep.equal({method: 'minikube image load', nodes: []})
      for (const node of profile.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    } finally {
      delete process.env.KUDEV_FAKE_MINIKUBE_DRIVER
      delete process.env.KUDEV_FAKE_MINIKUBE_SILENT_FAIL
    }
  })

  it('explains a profile that does not exist', async () => {
    const error = await rejection(
      new MinikubeLoader(toolkit).has(await buildImage('no-profile'), {
        context: 'gone',
        params: {profile: `gone${suffix}`},
      }),
    )
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(`minikube profile "gone${suffix}" (context gone) does not exist`)
    expect(error.hint).to.include(`minikube start -p gone${suffix}`)
  })

  it("diagnose: minikube's version and each node's state; an absent profile or a stopped node fails the cluster row", async () => {
    const loader = new MinikubeLoader(toolkit)
    expect(await loader.diagnose(target())).to.deep.equal([
      {name: 'minikube', ok: true, summary: (await execa('minikube', ['version', '--short'])).stdout},
      {
        name: 'cluster',
        ok: true,
        summary: `minikube profile "${profile.name}": nodes "${profile.nodes[0]}", "${profile.nodes[1]}" running`,
      },
    ])
    const [, absent] = await loader.diagnose({context: 'gone', params: {profile: `gone${suffix}`}})
    expect(absent).to.deep.equal({
      hint: `is the cluster running? \`minikube profile list\` lists the profiles; \`minikube start -p gone${suffix}\` starts it`,
      name: 'cluster',
      ok: false,
      summary: `minikube profile "gone${suffix}" (context gone) does not exist`,
    })
    await execa('docker', ['stop', '--time', '1', profile.nodes[1]!])
    try {
      const [, stopped] = await loader.diagnose(target())
      expect(stopped).to.deep.equal({
        hint: `start it: minikube start -p ${profile.name}`,
        name: 'cluster',
        ok: false,
        summary: `minikube profile "${profile.name}" is not running: node "${profile.nodes[1]}" is Stopped`,
      })
    } finally {
      await execa('docker', ['start', profile.nodes[1]!])
    }
  })

  it('says how to install minikube when it is not on PATH', async function () {
    if ((await execa('sh', ['-c', 'command -v minikube'], {env: {PATH: savedPath}, reject: false})).exitCode === 0)
      this.skip()
    process.env.PATH = savedPath
    try {
      const error = await rejection(new MinikubeLoader(toolkit).has(await buildImage('no-minikube'), target()))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal('minikube is not installed (not found on PATH)')
      expect(error.hint).to.equal('install minikube: https://minikube.sigs.k8s.io/docs/start/')
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })

  it('an abort during a --full-load stops minikube and everything it started', async () => {
    const image = await buildImage('aborted', 48 * 1024 * 1024)
    const minikubeTemp = await leftovers('minikube-')
    const controller = new AbortController()
    const loading = new MinikubeLoader(toolkit).load(image, target(), controller.signal, FULL)
    // Abort once minikube's own `docker save` / `docker cp` / `docker exec` runs: killing minikube alone would leave it.
    await waitFor(async () => (await processes(`docker (save|cp|exec) .*`)).length > 0)
    controller.abort()
    const error = await rejection(loading)
    expect(error.code).to.equal('interrupted')
    expect(
      await processes(`(${STAND_IN_BIN}/minikube|docker save .*${image.ref}|docker (cp|exec) .*${profile.name})`),
    ).to.deep.equal([])
    // minikube, stopped by a signal, leaves its own temporary folder behind: not ours to keep.
    for (const left of await leftovers('minikube-'))
      if (!minikubeTemp.includes(left)) await rm(path.join(tmpdir(), left), {force: true, recursive: true})
  })
})
