/**
 * The registry loader against a real registry (Debian's docker-registry on 127.0.0.1, plain HTTP), the
 * real Docker engine pushing to it, and a kind-style node with host networking pulling from it with its
 * own containerd.
 */
import {expect} from 'chai'
import {realToolkit, rejection, type TestToolkit} from 'kudev/testing'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {docker, dockerResult, requireDocker, suiteCleanup, uniqueName} from '../../../test/support/docker.js'
import {buildUniqueImage} from '../../../test/support/images.js'
import {ensureNodeImage, hostImageId, NODE_IMAGE, nodeImages, waitForContainerd} from '../../../test/support/nodes.js'
import {waitFor} from '../../../test/support/processes.js'
import {requireRegistry, startRegistry, type TestRegistry} from '../../../test/support/registry.js'
import {RegistryLoader} from '../src/loader.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`
const REPOSITORY = 'kudev-test/registry-loader'

describe('registry loader (integration: docker-registry on loopback, docker push, a containerd node)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let registry: TestRegistry
  let toolkit: TestToolkit
  let tmp: string

  const target = () => ({context: 'dev', params: {registry: registry.host}})
  const pushLines = () =>
    toolkit.logs.debug.filter((line) => line.startsWith('docker push: ')).map((line) => line.slice(13))
  /** Loads as kudev does, and registers the local tag it leaves for removal. */
  const load = async (loader: RegistryLoader, image: Awaited<ReturnType<typeof buildUniqueImage>>) => {
    cleanup.image(loader.clusterRef(image, target()))
    return loader.load(image, target(), new AbortController().signal)
  }

  before(async function () {
    await requireDocker(this)
    await requireRegistry(this)
    tmp = await cleanup.tempDir('kudev-registry-loader-test-')
    registry = await startRegistry(cleanup)
  })

  beforeEach(() => {
    toolkit = realToolkit()
  })

  it('pushes an image the registry did not have, and then has it with the image ID as config digest', async () => {
    const image = await buildUniqueImage({cleanup, dir: path.join(tmp, 'one'), ref: `${REPOSITORY}:one-${suffix}`})
    const loader = new RegistryLoader(toolkit)
    expect(await loader.has(image, target())).to.equal(false)

    const report = await load(loader, image)
    const clusterRef = `${registry.host}/${REPOSITORY}:one-${suffix}`
    expect(report).to.deep.equal({method: `docker push ${clusterRef}`, nodes: []})
    expect(loader.clusterRef(image, target())).to.equal(clusterRef)
    expect(await loader.has(image, target())).to.equal(true)
    expect(await new RegistryLoader(realToolkit()).has(image, target())).to.equal(true)
    expect(await hostImageId(clusterRef)).to.equal(image.id)
    expect(await loader.diagnose(target())).to.deep.equal([
      {name: 'registry', ok: true, summary: `${registry.host} answers (registry API v2)`},
    ])
  })

  it('sends only the new layer of an image that shares one with an image the registry has', async () => {
    const base = await buildUniqueImage({
      cleanup,
      dir: path.join(tmp, 'base'),
      padding: 1_000_000,
      ref: `${REPOSITORY}:base-${suffix}`,
    })
    const loader = new RegistryLoader(toolkit)
    await load(loader, base)

    await writeFile(path.join(tmp, 'base', 'edit.txt'), `${uniqueName('edit')}\n`)
    await writeFile(path.join(tmp, 'base', 'Dockerfile.edit'), `FROM ${base.ref}\nCOPY edit.txt /\n`)
    const ref = cleanup.image(`${REPOSITORY}:edit-${suffix}`)
    await docker(['build', '-q', '-f', path.join(tmp, 'base', 'Dockerfile.edit'), '-t', ref, path.join(tmp, 'base')])
    const edited = {...base, id: await hostImageId(ref), ref}

    const before = pushLines().length
    expect(await loader.has(edited, target())).to.equal(false)
    await load(loader, edited)
    const lines = pushLines().slice(before)
    // Docker's own behaviour: the base's layer is not sent again, the new one is.
    expect(lines.filter((line) => / Layer already exists$/.test(line))).to.have.length(1)
    expect(lines.filter((line) => / Pushed$/.test(line))).to.have.length(1)
    expect(lines.filter((line) => / Mounted from /.test(line))).to.deep.equal([])
    expect(await loader.has(edited, target())).to.equal(true)
  })

  it('pushes what a kind-style node with host networking pulls with its own containerd', async () => {
    const image = await buildUniqueImage({cleanup, dir: path.join(tmp, 'pull'), ref: `${REPOSITORY}:pull-${suffix}`})
    const loader = new RegistryLoader(toolkit)
    await load(loader, image)
    const clusterRef = loader.clusterRef(image, target())

    await ensureNodeImage()
    const node = cleanup.container(uniqueName('kudev-registry-node'))
    await docker([
      'run',
      '-d',
      '--name',
      node,
      '--network',
      'host',
      '--volume',
      '/var/lib/containerd',
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
      NODE_IMAGE,
    ])
    await waitForContainerd(node)
    await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'pull', '--plain-http', clusterRef], {
      timeout: 120_000,
    })
    const pulled = (await nodeImages(node)).find((entry) => entry.ref === clusterRef)
    expect(pulled?.id).to.equal(image.id)
  })

  it('stops docker push on Ctrl-C and leaves no tag behind', async () => {
    const image = await buildUniqueImage({
      cleanup,
      dir: path.join(tmp, 'abort'),
      padding: 64_000_000,
      ref: `${REPOSITORY}:abort-${suffix}`,
    })
    const loader = new RegistryLoader(toolkit)
    const clusterRef = cleanup.image(loader.clusterRef(image, target()))
    const controller = new AbortController()
    const loading = loader.load(image, target(), controller.signal)
    await waitFor(() => pushLines().length > 0, 60_000)
    controller.abort()
    const error = await rejection(loading)
    expect(error.code).to.equal('interrupted')
    const tag = await dockerResult(['image', 'inspect', clusterRef])
    expect(tag.failed, 'the tag the loader made is gone').to.equal(true)
    expect(await hostImageId(image.ref)).to.equal(image.id)
  })
})
