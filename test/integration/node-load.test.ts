/**
 * toolkit.loadIntoNodes against kind-style node containers running a real containerd with overlayfs on a
 * volume, as kind runs them: one save, then each node gets only the layers it lacks; a node is trusted
 * only once containerd lists the image complete and unpacked under its name.
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {randomBytes} from 'node:crypto'
import {mkdir, readdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {BaseToolkit, LoadableImage, LoadProgress, NodeLoad, PluginToolkit} from '../../src/plugins/contract.js'
import {realToolkit, rejection} from '../../src/testing/index.js'
import {withSharedHelpers} from '../../src/toolkit/index.js'
import {startLoopbackPush} from '../../src/toolkit/loopback-registry.js'
import {docker, requireDocker, suiteCleanup} from '../support/docker.js'
import {
  createKindCluster,
  ensureNodeImage,
  hostImageId,
  nodeImageIds,
  removeAll,
  type TestCluster,
  nodeImageReady,
  waitForContainerd,
} from '../support/nodes.js'
import {requirePodman} from '../support/podman.js'
import {processes, waitFor} from '../support/processes.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`
const MB = 1024 * 1024

describe('loading into kind-style nodes, each sent only the layers it lacks (integration: containerd, overlayfs on a volume)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let cluster: TestCluster
  let tmp: string

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-node-load-test-')
    cluster = await createKindCluster(`nl${suffix}`, {workers: 1})
  })

  after(async function () {
    this.timeout(120_000)
    await removeAll()
  })

  /** An app: a big dependency layer (`base` MB, kept between builds of `name`) and a small layer that changes. */
  async function buildApp(name: string, version: string, base = 4): Promise<LoadableImage> {
    const dir = path.join(tmp, name)
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'deps.bin'), randomBytes(base * MB), {flag: 'wx'}).catch(() => {})
    await writeFile(path.join(dir, 'app.txt'), `${name} ${version}\n`)
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY deps.bin /\nCOPY app.txt /\n')
    const ref = cleanup.image(`kudev-test/node-load-${name}:${version}-${suffix}`)
    await docker(['build', '-q', '-t', ref, dir], {timeout: 120_000})
    return {
      id: await hostImageId(ref),
      inDockerDaemon: true,
      ref,
      save: () => Promise.reject(new Error('not expected')),
    }
  }

  const load = (
    image: LoadableImage,
    toolkit: PluginToolkit = realToolkit(),
    options: {full?: boolean; signal?: AbortSignal; onProgress?: (progress: LoadProgress) => void} = {},
  ) => toolkit.loadIntoNodes(image, cluster.nodes, {signal: options.signal ?? new AbortController().signal, ...options})

  async function loopbackTags(): Promise<string[]> {
    const listed = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    return listed.split('\n').filter((line) => line.startsWith('127.0.0.1:') && line.includes('/kudev/load:'))
  }

  /** What the node's containerd says of the name: complete and unpacked for overlayfs, and the file's content. */
  async function expectRunnable(node: string, image: LoadableImage, content: string): Promise<void> {
    const name = `docker.io/${image.ref}`
    expect(await nodeImageReady(node, name), `${node}: complete and unpacked`).to.equal(true)
    expect(await nodeImageIds(node), node).to.include(image.id)
    const mount = `/tmp/mnt-${suffix}`
    await docker(['exec', node, 'mkdir', '-p', mount])
    await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'mount', name, mount])
    try {
      expect(await docker(['exec', node, 'cat', `${mount}/app.txt`]), `${node}: the unpacked file`).to.equal(content)
    } finally {
      await docker(['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'unmount', '--rm', mount])
    }
  }

  it('sends a first load whole (the nodes hold none of its layers), and after an edit only the changed layer; each node then runs the new image', async () => {
    const first = await buildApp('edit', 'v1')
    const whole = await load(first)
    // Small enough for the push: Docker hands over every layer the first time.
    expect(whole.map((node) => [node.node, node.mode, node.reason, node.source])).to.deep.equal(
      cluster.nodes.map((node) => [node, 'full', 'the node holds none of its layers', 'push']),
    )
    for (const node of whole) expect(node.bytesSent).to.be.greaterThan(4 * MB)

    const second = await buildApp('edit', 'v2')
    const trimmed = await load(second)
    for (const node of trimmed) {
      expect(node.mode, node.node).to.equal('trimmed')
      expect(node.source, node.node).to.equal('push')
      expect(node.blobsSkipped, node.node).to.equal(1)
      expect(node.bytesSkipped, node.node).to.be.greaterThan(4 * MB)
      expect(node.bytesSent, node.node).to.be.lessThan(64 * 1024)
      expect(node.blobsSent, node.node).to.equal(3) // the new layer, the config, the manifest
      await expectRunnable(node.node, second, `edit v2`)
    }
  })

  it('a new big layer comes from a save while the push goes on, so that Docker remembers it: after an edit, the push hands over only the new layer', async () => {
    // 24 MB of random bytes compress to more than the push's 16 MiB limit.
    const first = await buildApp('prime', 'v1', 24)
    const whole = await load(first)
    expect(whole.map((node) => [node.mode, node.source])).to.deep.equal(cluster.nodes.map(() => ['full', 'save']))
    expect(await loopbackTags(), 'the push untagged what it pushed').to.deep.equal([])

    const second = await buildApp('prime', 'v2', 24)
    for (const node of await load(second)) {
      expect([node.mode, node.source], node.node).to.deep.equal(['trimmed', 'push'])
      expect(node.bytesSent, node.node).to.be.lessThan(64 * 1024)
      expect(node.bytesSkipped, node.node).to.be.greaterThan(24 * MB)
      await expectRunnable(node.node, second, 'prime v2')
    }
  })

  it('a new layer Docker has pushed elsewhere (a registry) since: the loopback registry says it lacks it, so the push hands it over', async () => {
    await load(await buildApp('elsewhere', 'v1'))
    const second = await buildApp('elsewhere', 'v2')
    // As `kudev load --registry` does: Docker now knows the new layer as pushed, under a digest kudev never saw.
    await startLoopbackPush(realToolkit(), second, await cleanup.tempDir('kudev-elsewhere-')).handed
    for (const node of await load(second)) {
      expect([node.mode, node.source, node.blobsSent], node.node).to.deep.equal(['trimmed', 'push', 3])
      await expectRunnable(node.node, second, 'elsewhere v2')
    }
  })

  it('a node lacking a layer Docker pushed before: the loopback registry says it lacks it, so the push hands it over; the other node leaves it out', async () => {
    await load(await buildApp('lack', 'v1'))
    const second = await buildApp('lack', 'v2')
    const [depsLayer] = JSON.parse(
      await docker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', second.ref]),
    ) as string[]
    const [victim, other] = cluster.nodes as [string, string]
    await docker(['exec', victim, 'ctr', '-n', 'k8s.io', 'content', 'rm', depsLayer!])
    const byNode = new Map((await load(second)).map((node) => [node.node, node]))
    expect(byNode.get(victim)).to.include({mode: 'full', reason: 'the node holds none of its layers', source: 'push'})
    expect(byNode.get(other)).to.include({blobsSkipped: 1, mode: 'trimmed', source: 'push'})
    for (const node of cluster.nodes) await expectRunnable(node, second, 'lack v2')
  })

  it('KUDEV_LOOPBACK_PUSH=0 takes the save, trimmed the same way; with no record, the push hands over every layer and each node leaves out those it holds', async () => {
    const loadEdit = async (name: string, env: Record<string, string>, source: string) => {
      await load(await buildApp(name, 'v1'))
      const second = await buildApp(name, 'v2')
      const before = {...process.env}
      Object.assign(process.env, env)
      try {
        for (const node of await load(second)) {
          expect([node.mode, node.source, node.blobsSkipped], `${name} ${node.node}`).to.deep.equal([
            'trimmed',
            source,
            1,
          ])
          await expectRunnable(node.node, second, `${name} v2`)
        }
      } finally {
        for (const key of Object.keys(env)) if (before[key] === undefined) delete process.env[key]
        Object.assign(process.env, before)
      }
    }

    await loadEdit('nopush', {KUDEV_LOOPBACK_PUSH: '0'}, 'save')
    await loadEdit('norecord', {KUDEV_CACHE_DIR: await cleanup.tempDir('kudev-no-record-')}, 'push')
  })

  it('a layer containerd drops between the listing and the import (its garbage collection) ends in a full load that repairs the node', async () => {
    const first = await buildApp('race', 'v1')
    await load(first)
    const second = await buildApp('race', 'v2')
    const [depsLayer] = JSON.parse(
      await docker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', second.ref]),
    ) as string[]
    const [victim] = cluster.nodes as [string]
    const real = realToolkit()
    // The blob goes just before the import into one node, as the collector may take it after the listing.
    const racing = withSharedHelpers<BaseToolkit>({
      ...real,
      exec: async (file, args, options) => {
        if (args.includes('import') && args.includes(victim))
          await real.exec('docker', ['exec', victim, 'ctr', '-n', 'k8s.io', 'content', 'rm', depsLayer!])
        return real.exec(file, args, options)
      },
    })
    const loads = await load(second, racing)
    const byNode = new Map(loads.map((node) => [node.node, node]))
    expect(byNode.get(victim)!.mode).to.equal('full')
    expect(byNode.get(victim)!.reason).to.match(
      /^the trimmed load failed: ctr exited 0, but the node's .* is not complete/,
    )
    expect(byNode.get(cluster.nodes[1]!)!.mode).to.equal('trimmed')
    for (const node of cluster.nodes) await expectRunnable(node, second, 'race v2')
  })

  it("--full-load sends every node the whole image, saying why, and reports each node's bytes as they go", async () => {
    await load(await buildApp('full', 'v1'))
    const progress: LoadProgress[] = []
    const loads = await load(await buildApp('full', 'v2'), undefined, {
      full: true,
      onProgress: (seen) => progress.push(seen),
    })
    expect(loads.map((node: NodeLoad) => [node.mode, node.reason])).to.deep.equal(
      cluster.nodes.map(() => ['full', 'asked for (--full-load)']),
    )
    for (const node of loads) {
      const reported = progress.filter((seen) => seen.node === node.node)
      expect(reported.length, node.node).to.be.greaterThan(1)
      // Rising to the whole of what the node was sent, out of that total.
      expect(reported.at(-1), node.node).to.deep.equal({bytes: node.bytesSent, node: node.node, total: node.bytesSent})
      expect(reported.every((seen, i) => i === 0 || seen.bytes >= reported[i - 1]!.bytes)).to.equal(true)
    }
  })

  it('reads an OCI layout archive (podman save --format oci-archive) and trims it the same way', async function () {
    await requirePodman(this)
    const dir = path.join(tmp, 'oci')
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'deps.bin'), randomBytes(4 * MB))
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY deps.bin /\nCOPY app.txt /\n')
    const podmanImage = async (version: string): Promise<LoadableImage> => {
      await writeFile(path.join(dir, 'app.txt'), `oci ${version}\n`)
      const ref = `localhost/kudev-test/node-load-oci:${version}-${suffix}`
      cleanup.add(`podman image ${ref}`, () => execa('podman', ['rmi', '-f', ref], {reject: false}).then(() => {}))
      const id = (await execa('podman', ['build', '-q', '-t', ref, dir])).stdout.trim().split('\n').at(-1)!
      return {
        id: `sha256:${id}`,
        inDockerDaemon: false,
        ref,
        save: () => Promise.resolve(execa('podman', ['save', '--format', 'oci-archive', ref]).stdout!),
      }
    }

    await load(await podmanImage('v1'))
    const second = await podmanImage('v2')
    const loads = await load(second)
    for (const node of loads) {
      expect(node.mode, node.node).to.equal('trimmed')
      expect(node.blobsSkipped, node.node).to.equal(1)
      expect(await nodeImageIds(node.node), node.node).to.include(second.id)
    }
  })

  it('a node that stops during the load: an error naming it and how to start it, the other node loaded', async () => {
    const image = await buildApp('stopped', 'v1', 32)
    const [, worker] = cluster.nodes as [string, string]
    const real = realToolkit()
    // The worker stops as its import starts, as a node does when Docker restarts or the host sleeps.
    const stopping = withSharedHelpers<BaseToolkit>({
      ...real,
      exec: async (file, args, options) => {
        if (args.includes('import') && args.includes(worker)) await docker(['stop', '--time', '0', worker])
        return real.exec(file, args, options)
      },
    })
    try {
      const error = await rejection(load(image, stopping))
      expect(error.code).to.equal('load')
      expect(error.message).to.match(new RegExp(`^could not load ${image.ref} into node "${worker}": `))
      expect(error.hint).to.equal(
        `node "${worker}" stopped during the load: start it (docker start ${worker}) and run the command again`,
      )
      expect(await nodeImageIds(cluster.nodes[0]!)).to.include(image.id)
    } finally {
      await docker(['start', worker])
      await waitForContainerd(worker)
    }
  })

  it('an image removed from Docker between the build and the load: a load error that says to build it again', async () => {
    const image = await buildApp('removed', 'v1')
    await docker(['image', 'rm', image.ref])
    const error = await rejection(load(image))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(`${image.ref} is no longer in Docker: it went between the build and the load`)
    expect(error.hint).to.equal('build it again (kudev up builds what is missing), then load it')
  })

  it('a node whose disk is full: an error naming it and what to free, and no name pointing at a broken image', async () => {
    const small = await createKindCluster(`nlfull${suffix}`, {diskMib: 24})
    try {
      const image = await buildApp('disk', 'v1', 32)
      const [node] = small.nodes as [string]
      const error = await rejection(
        realToolkit().loadIntoNodes(image, small.nodes, {signal: new AbortController().signal}),
      )
      expect(error.code).to.equal('load')
      expect(error.message).to.match(
        new RegExp(`^could not load ${image.ref} into node "${node}": .*no space left on device`),
      )
      expect(error.hint).to.match(new RegExp(`^node "${node}" is out of disk space: `))
      const listed = await docker([
        'exec',
        node,
        'ctr',
        '-n',
        'k8s.io',
        'images',
        'ls',
        '-q',
        `name==docker.io/${image.ref}`,
      ])
      expect(listed, 'no name left').to.equal('')
    } finally {
      await small.remove()
    }
  })

  it('a node whose CRI uses another snapshotter (native) is loaded for that one, as kind reads it', async () => {
    const native = await createKindCluster(`nlnat${suffix}`, {snapshotter: 'native'})
    try {
      const [node] = native.nodes as [string]
      const signal = new AbortController().signal
      await realToolkit().loadIntoNodes(await buildApp('native', 'v1'), native.nodes, {signal})
      const second = await buildApp('native', 'v2')
      const [sent] = await realToolkit().loadIntoNodes(second, native.nodes, {signal})
      expect(sent!.mode).to.equal('trimmed')
      const name = `docker.io/${second.ref}`
      expect(await nodeImageReady(node, name, 'native'), 'unpacked for native').to.equal(true)
      expect(await nodeImageReady(node, name, 'overlayfs'), 'not for overlayfs').to.equal(false)
    } finally {
      await native.remove()
    }
  })

  it('an abort during the imports stops them, leaves no temporary folder, and no node names a broken image', async () => {
    const before = (await readdir(tmpdir())).filter((entry) => entry.startsWith('kudev-load-'))
    const image = await buildApp('abort', 'v1', 64)
    const controller = new AbortController()
    const loading = load(image, undefined, {signal: controller.signal})
    await waitFor(async () => (await processes(`docker exec -i ${cluster.name}`)).length > 0)
    controller.abort()
    const error = await rejection(loading)
    expect(error.code).to.equal('interrupted')
    expect(await processes(`docker (save|exec -i) .*${cluster.name}|docker push 127\\.0\\.0\\.1:`)).to.deep.equal([])
    expect(await loopbackTags()).to.deep.equal([])
    const after = (await readdir(tmpdir())).filter((entry) => entry.startsWith('kudev-load-'))
    expect(after).to.deep.equal(before)
    for (const node of cluster.nodes) {
      const listed = await docker([
        'exec',
        node,
        'ctr',
        '-n',
        'k8s.io',
        'images',
        'ls',
        '-q',
        `name==docker.io/${image.ref}`,
      ])
      if (listed === '') continue
      expect(
        await nodeImageReady(node, `docker.io/${image.ref}`),
        `${node} names ${image.ref}: it must be ready`,
      ).to.equal(true)
    }
  })
})
