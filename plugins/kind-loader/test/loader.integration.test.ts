/**
 * The kind loader against kind-style node containers running a real containerd, with the kind stand-in
 * (test/fixtures/bin/kind) first on PATH: the loader runs programs through the core's exec, which
 * inherits this process's environment, so PATH is set here for the suite and restored afterwards.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import type {LoadableImage} from 'kudev'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {chmod, mkdir, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {
  createKindCluster,
  ensureNodeImage,
  nodeImageIds,
  readStandInLog,
  removeAll,
  STAND_IN_BIN,
  standInEnv,
  type TestCluster,
} from '../../../test/support/nodes.js'
import {KindLoader} from '../src/loader.js'
import {processes, waitFor} from '../../../test/support/processes.js'
import {buildUniqueImage} from '../../../test/support/images.js'

/** --full-load: the kind CLI (the stand-in), as kind users know it. */
const FULL = {full: true}
const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`

describe('kind loader (integration: stand-in kind, containerd nodes)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const saved = {log: process.env.KUDEV_FAKE_KIND_LOG, path: process.env.PATH}
  let tmp: string
  let toolkit: TestToolkit
  let one: TestCluster
  let two: TestCluster
  let kindLog: string

  const buildImage = (name: string, padding = 0) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), padding, ref: `kudev-test/kind-loader-${name}:${suffix}`})

  const target = (cluster: TestCluster) => ({context: `kind-${cluster.name}`, params: {cluster: cluster.name}})
  const kindRuns = async () =>
    (await readStandInLog(kindLog)).filter((entry) => entry.argv !== undefined).map((entry) => entry.argv)
  const leftovers = async (prefix = 'kudev-kind-') =>
    (await readdir(tmpdir())).filter((entry) => entry.startsWith(prefix))

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-kind-loader-test-')
    kindLog = path.join(tmp, 'kind.jsonl')
    process.env.PATH = standInEnv().PATH
    process.env.KUDEV_FAKE_KIND_LOG = kindLog
    toolkit = realToolkit()
    ;[one, two] = await Promise.all([
      createKindCluster(`kl1${suffix}`),
      createKindCluster(`kl2${suffix}`, {workers: 1}),
    ])
  })

  after(async function () {
    this.timeout(120_000)
    process.env.PATH = saved.path
    if (saved.log === undefined) delete process.env.KUDEV_FAKE_KIND_LOG
    else process.env.KUDEV_FAKE_KIND_LOG = saved.log
    await removeAll()
  })

  it('by default loads without the kind CLI, each node sent what it lacks, and reports it per node', async () => {
    const image = await buildImage('trimmed')
    const loader = new KindLoader(toolkit)
    const before = (await kindRuns()).length
    const report = await loader.load(image, target(two), new AbortController().signal)
    expect(report.method).to.equal('trimmed per node')
    expect(report.nodes.map((node) => node.node)).to.deep.equal(two.nodes)
    for (const node of two.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await loader.has(image, target(two))).to.equal(true)
    expect((await kindRuns()).length, 'kind never ran').to.equal(before)
    const again = await loader.load(image, target(two), new AbortController().signal)
    expect(again.nodes, 'a node that has it is skipped').to.deep.equal([])
  })

  it('loads into a single node with kind load docker-image; has() is false before and true after', async () => {
    const image = await buildImage('single')
    const loader = new KindLoader(toolkit)
    expect(await loader.has(image, target(one))).to.equal(false)
    await loader.load(image, target(one), new AbortController().signal, FULL)
    expect(await nodeImageIds(one.nodes[0]!)).to.include(image.id)
    expect(await loader.has(image, target(one))).to.equal(true)
    expect(await kindRuns()).to.deep.include(['load', 'docker-image', image.ref, '--name', one.name, '-v', '1'])
  })

  it('loads into the control plane and the worker, and has() then needs no second load', async () => {
    const image = await buildImage('two-nodes')
    const loader = new KindLoader(toolkit)
    const before = (await kindRuns()).length
    await loader.load(image, target(two), new AbortController().signal, FULL)
    for (const node of two.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await loader.has(image, target(two))).to.equal(true)
    expect((await kindRuns()).length - before).to.equal(1)
  })

  it('loads an image that is not in the Docker daemon through its save() and kind load image-archive, removing the archive', async () => {
    const image = await buildImage('archive')
    const before = await leftovers()
    let saves = 0
    const fromBuilder: LoadableImage = {
      ...image,
      inDockerDaemon: false,
      async save() {
        saves++
        const {done, stdout} = await toolkit.execStream('docker', ['save', image.ref])
        done.catch(() => {})
        return stdout
      },
    }
    await new KindLoader(toolkit).load(fromBuilder, target(two), new AbortController().signal, FULL)
    expect(saves).to.equal(1)
    for (const node of two.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    const run = (await kindRuns()).at(-1)!
    expect(run.slice(0, 3)).to.deep.equal(['load', 'image-archive', run[2]])
    expect(run[2]).to.match(/kudev-kind-.*\/image\.tar$/)
    expect(await leftovers()).to.deep.equal(before)
  })

  it('explains a cluster without nodes', async () => {
    const error = await rejection(
      new KindLoader(toolkit).has(await buildImage('no-nodes'), {
        context: 'kind-absent',
        params: {cluster: `absent${suffix}`},
      }),
    )
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(`no kind nodes found for cluster "absent${suffix}" (context kind-absent)`)
    expect(error.hint).to.include('kind get clusters')
  })

  it('says how to install kind when it is not on PATH', async function () {
    if ((await execa('sh', ['-c', 'command -v kind'], {env: {PATH: saved.path}, reject: false})).exitCode === 0)
      this.skip()
    process.env.PATH = saved.path
    try {
      const error = await rejection(
        new KindLoader(toolkit).load(await buildImage('no-kind'), target(one), new AbortController().signal, FULL),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal('kind is not installed (not found on PATH)')
      expect(error.hint).to.include('go install sigs.k8s.io/kind@latest')
      expect(error.hint).to.include('https://kind.sigs.k8s.io/docs/user/quick-start/#installation')
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })

  it("diagnose: kind's version and the running nodes; a cluster without nodes fails its row with the hint of kudev up; a missing kind is only needed for --full-load", async () => {
    const loader = new KindLoader(toolkit)
    expect(await loader.diagnose(target(two))).to.deep.equal([
      {name: 'kind', ok: true, summary: (await execa('kind', ['version'])).stdout},
      {
        name: 'cluster',
        ok: true,
        summary: `kind cluster "${two.name}": nodes "${two.nodes[0]}", "${two.nodes[1]}" running`,
      },
    ])
    expect((await loader.diagnose(target(one)))[1]).to.deep.equal({
      name: 'cluster',
      ok: true,
      summary: `kind cluster "${one.name}": node "${one.nodes[0]}" running`,
    })
    const [, absent] = await loader.diagnose({context: 'kind-absent', params: {cluster: `absent${suffix}`}})
    expect(absent).to.include({
      name: 'cluster',
      ok: false,
      summary: `no kind nodes found for cluster "absent${suffix}" (context kind-absent)`,
    })
    expect(absent!.hint).to.include('kind create cluster --name')
    process.env.PATH = path.join(tmp, 'no-such-bin')
    try {
      const [missing] = await loader.diagnose(target(one))
      expect(missing).to.include({name: 'kind', ok: true, summary: 'not installed: needed only for --full-load'})
      expect(missing!.hint).to.include('go install sigs.k8s.io/kind@latest')
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })

  it('fails clearly when kind reports success but a node lacks the image', async () => {
    const bin = path.join(tmp, 'lying-bin')
    await mkdir(bin, {recursive: true})
    await writeFile(path.join(bin, 'kind'), '#!/bin/sh\nexit 0\n')
    await chmod(path.join(bin, 'kind'), 0o755)
    process.env.PATH = `${bin}${path.delimiter}${saved.path}`
    try {
      const image = await buildImage('unverified')
      const error = await rejection(
        new KindLoader(toolkit).load(image, target(two), new AbortController().signal, FULL),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `kind load docker-image ${image.ref} --name ${two.name} -v 1 exited 0, but nodes "${two.nodes[0]}", "${two.nodes[1]}" of cluster "${two.name}" do not have ${image.ref} (${image.id})`,
      )
    } finally {
      process.env.PATH = standInEnv().PATH
    }
  })

  it('an abort during the load stops kind and everything it started', async () => {
    const image = await buildImage('aborted', 48 * 1024 * 1024)
    const kindTemp = await leftovers('images-tar')
    const controller = new AbortController()
    const loading = new KindLoader(toolkit).load(image, target(two), controller.signal, FULL)
    // Abort once kind's own `docker save` or `docker exec … ctr import` runs: killing kind alone would leave it.
    await waitFor(async () => (await processes(`docker (save|exec -i) .*`)).length > 0)
    controller.abort()
    const error = await rejection(loading)
    expect(error.code).to.equal('interrupted')
    expect(
      await processes(`(${STAND_IN_BIN}/kind|docker save .*${image.ref}|docker exec -i ${two.name})`),
    ).to.deep.equal([])
    // kind, stopped by a signal, leaves its own temporary folder behind (as the real one does): not ours to keep.
    for (const left of await leftovers('images-tar'))
      if (!kindTemp.includes(left)) await rm(path.join(tmpdir(), left), {force: true, recursive: true})
  })
})
