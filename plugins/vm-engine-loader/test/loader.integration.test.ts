/**
 * The shared-engine path against this machine's real Docker engine. It plays the product's engine: the
 * test hands the loader a Product whose owns() recognises this engine by the Name `docker info` gives,
 * as OrbStack's recognises "OrbStack"; `docker info`, `docker image inspect` and `docker load` are real.
 * The nerdctl path has no real counterpart here (no Rancher Desktop or colima VM), so it is unit-tested only.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {realToolkit} from 'kudev/testing'
import path from 'node:path'
import {Readable} from 'node:stream'

import {docker, requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {buildUniqueImage} from '../../../test/support/images.js'
import {VmEngineLoader} from '../src/loader.js'
import {PRODUCTS, type Product} from '../src/products.js'

const target = {context: 'orbstack', params: {}}
const signal = new AbortController().signal

describe('VM engine loaders (integration: the real Docker engine as the product engine)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let product: Product
  let tmp: string

  before(async function () {
    await requireDocker(this)
    tmp = await cleanup.tempDir('kudev-vm-engine-test-')
    const {stdout} = await execa('docker', ['info', '--format', '{{.Name}}'])
    const orbStack = PRODUCTS.find((candidate) => candidate.loader === 'orbstack')!
    product = {...orbStack, owns: (engine) => engine.name === stdout.trim()}
  })

  it('an image the engine has: has() by ID, and nothing to load', async () => {
    const image = await buildUniqueImage({
      cleanup,
      dir: path.join(tmp, 'built'),
      ref: `kudev-test/vm-engine-built:${process.pid}`,
    })
    const toolkit = realToolkit()
    const loader = new VmEngineLoader(toolkit, product)
    await loader.check(target)
    expect(await loader.has(image, target)).to.equal(true)
    expect(await loader.has({...image, id: `sha256:${'0'.repeat(64)}`}, target)).to.equal(false)
    expect((await loader.load(image, target, signal)).method).to.equal(
      "none: OrbStack's Kubernetes runs on the Docker engine",
    )
  })

  it('an image from another builder: docker load of its save(), then the engine has its ID', async () => {
    const built = await buildUniqueImage({
      cleanup,
      dir: path.join(tmp, 'other'),
      ref: `kudev-test/vm-engine-other:${process.pid}`,
    })
    const tar = await execa('docker', ['save', built.ref], {encoding: 'buffer'})
    await docker(['image', 'rm', built.ref])
    const image = {...built, inDockerDaemon: false, save: async () => Readable.from([tar.stdout])}
    const loader = new VmEngineLoader(realToolkit(), product)
    expect(await loader.has(image, target)).to.equal(false)
    expect(await loader.load(image, target, signal)).to.deep.equal({method: 'docker load', nodes: []})
    expect(await loader.has(image, target)).to.equal(true)
  })
})
