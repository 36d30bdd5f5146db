/**
 * The minikube loader against minikube-style node containers running a real containerd, with the
 * minikube stand-in (test/fixtures/bin/minikube) first on PATH: the loader runs programs through the
 * core's exec, which inherits this process's environment, so PATH is set here and restored afterwards.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import type {LoadableImage} from 'kudev'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {
  createMinikubeProfile,
  ensureNodeImage,
  nodeImageIds,
  removeAll,
  STAND_IN_BIN,
  standInEnv,
  type TestCluster,
} from '../../../test/support/nodes.js'
import {MinikubeLoader} from '../src/loader.js'
import {processes, waitFor} from '../../../test/support/processes.js'
import {buildUniqueImage} from '../../../test/support/images.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`

describe('minikube loader (integration: stand-in minikube, containerd nodes)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const savedPath = process.env.PATH
  let tmp: string
  let toolkit: TestToolkit
  let profile: TestCluster

  const buildImage = (name: string, padding = 0) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), padding, ref: `kudev-test/minikube-loader-${name}:${suffix}`})

  const target = () => ({context: profile.name, params: {profile: profile.name}})
  const leftovers = async (prefix = 'kudev-minikube-') =>
    (await readdir(tmpdir())).filter((entry) => entry.startsWith(prefix))

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-minikube-loader-test-')
    process.env.PATH = standInEnv().PATH
    toolkit = realToolkit()
    profile = await createMinikubeProfile(`mk${suffix}`, {nodes: 2})
  })

  after(async function () {
    this.timeout(120_000)
    process.env.PATH = savedPath
    await removeAll()
  })

  it('loads into both nodes with image load --daemon; has() is false before and true after', async () => {
    const image = await buildImage('daemon')
    const loader = new MinikubeLoader(toolkit)
    expect(await loader.has(image, target())).to.equal(false)
    await loader.load(image, target(), new AbortController().signal)
    for (const node of profile.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await loader.has(image, target())).to.equal(true)
  })

  it('loads an image that is not in the Docker daemon through its save(), removing the archive', async () => {
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
    await new MinikubeLoader(toolkit).load(fromBuilder, target(), new AbortController().signal)
    for (const node of profile.nodes) expect(await nodeImageIds(node), node).to.include(image.id)
    expect(await leftovers()).to.deep.equal(before)
  })

  it('reports a load that minikube says succeeded but did nothing', async () => {
    const image = await buildImage('silent')
    process.env.KUDEV_FAKE_MINIKUBE_SILENT_FAIL = '1'
    try {
      const error = await rejection(new MinikubeLoader(toolkit).load(image, target(), new AbortController().signal))
      expect(error.code).to.equal('load')
      expect(error.message).to.equal(
        `minikube -p ${profile.name} image load ${image.ref} --daemon exited 0, but profile "${profile.name}" does not have ${image.ref} (${image.id})`,
      )
      expect(error.hint).to.include('https://github.com/kubernetes/minikube/issues/23023')
    } finally {
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

  it('an abort during the load stops minikube and everything it started', async () => {
    const image = await buildImage('aborted', 48 * 1024 * 1024)
    const minikubeTemp = await leftovers('minikube-')
    const controller = new AbortController()
    const loading = new MinikubeLoader(toolkit).load(image, target(), controller.signal)
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
