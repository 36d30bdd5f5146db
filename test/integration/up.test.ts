import {expect} from 'chai'
import {execa} from 'execa'
import {rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {LoadResult} from '../../src/pipeline/load-existing.js'
import type {UpResult} from '../../src/pipeline/up.js'
import {repoRoot, runCli} from '../support/cli.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {buildUniqueImage, ensureBusyboxBase} from '../support/images.js'
import {HOSTING_PATH, hostingData, startApiServer, writeKubeconfig} from '../support/api-server.js'
import {upProject} from '../support/project.js'
import {requireRegistry, startRegistry} from '../support/registry.js'
import {
  createK3dCluster,
  createKindCluster,
  createMinikubeProfile,
  nodeImageIds,
  type TestCluster,
} from '../support/nodes.js'

/** `kudev up --json` prints the UpResult. */
type UpJson = UpResult

/** `kudev up --json ARGS` in `project`, which must exit 0. */
async function upJson(project: string, env: NodeJS.ProcessEnv, args: string[]): Promise<UpJson> {
  const result = await runCli(['up', '--json', ...args], {cwd: project, env})
  expect(result.exitCode, result.stderr || result.stdout).to.equal(0)
  return JSON.parse(result.stdout) as UpJson
}

describe('kudev up into kind-style nodes (real engine, real containerd, stand-in kind and minikube)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const kindName = `up${process.pid % 10_000}`
  const profile = `mk${process.pid % 10_000}`
  let kind: TestCluster
  let minikube: TestCluster
  let project: string
  let env: NodeJS.ProcessEnv
  let imageName: string

  before(async function () {
    await requireDocker(this)
    ;[kind, minikube] = await Promise.all([
      createKindCluster(kindName, {workers: 1}),
      createMinikubeProfile(profile, {nodes: 1}),
    ])
    ;({env, imageName, project} = await upProject(
      cleanup,
      'up',
      [
        {cluster: `kind-${kindName}`, name: `kind-${kindName}`},
        {cluster: profile, minikube: true, name: profile},
        {cluster: 'gke_proj_zone_prod', name: 'gke_proj_zone_prod'},
        {cluster: 'kind-gone', name: 'kind-gone'},
      ],
      `kind-${kindName}`,
    ))
  })

  after(async () => {
    await Promise.all([kind?.remove(), minikube?.remove()])
  })

  const up = (...args: string[]) => upJson(project, env, args)

  it('builds and loads into every node; a second run neither builds nor loads', async () => {
    const first = await up()
    expect(first).to.include({built: true, context: `kind-${kindName}`, loaded: true, loader: 'kind'})
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(first.id)
    const second = await up()
    expect(second).to.include({built: false, id: first.id, loaded: false})
  })

  it('prints the image and its ID on stdout, what it did and how long it took on stderr; --json has both', async () => {
    await writeFile(join(project, 'index.html'), `plain ${Date.now()}\n`)
    const first = await runCli(['up'], {cwd: project, env})
    expect(first.exitCode, first.stderr).to.equal(0)
    expect(first.stdout).to.match(new RegExp(`^${imageName}:kudev-[0-9a-f]{8} sha256:[0-9a-f]{64}$`))
    expect(first.stderr).to.match(
      new RegExp(
        `^built \\(\\d+\\.\\ds\\), loaded into kind-${kindName} with kind \\(\\d+\\.\\ds\\); total \\d+\\.\\ds$`,
        'm',
      ),
    )
    const again = await up()
    expect(`${again.image} ${again.id}`).to.equal(first.stdout)
    expect(again).to.include({built: false, loaded: false})
    expect(again.durationsMs).to.have.keys('build', 'hash', 'load', 'total')
    expect(again.durationsMs.total).to.be.at.least(again.durationsMs.build + again.durationsMs.load)
  })

  it('kudev load puts an existing image on every node once, and names an image that does not exist', async () => {
    const image = await buildUniqueImage({
      cleanup,
      dir: join(project, '..', uniqueName('load-image')),
      ref: `kudev-test/${uniqueName('load')}:1`,
    })
    const load = async () => {
      const result = await runCli(['load', image.ref, '--json'], {cwd: project, env})
      expect(result.exitCode, result.stderr).to.equal(0)
      return JSON.parse(result.stdout) as LoadResult
    }

    expect(await load()).to.include({
      context: `kind-${kindName}`,
      id: image.id,
      image: image.ref,
      loaded: true,
      loader: 'kind',
    })
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(image.id)
    expect(await load()).to.include({loaded: false})
    const missing = await runCli(['load', 'kudev-test/never-built:1'], {cwd: project, env})
    expect(missing.exitCode).to.equal(7)
    expect(missing.stderr).to.include('image "kudev-test/never-built:1" not found by the docker builder')
  })

  it('builds and loads the new image after a file changes', async () => {
    const before = await up()
    await writeFile(join(project, 'index.html'), `v2 ${Date.now()}\n`)
    const after = await up()
    expect(after.id).to.not.equal(before.id)
    expect(after).to.include({built: true, loaded: true})
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(after.id)
    // One layer, all of it new: the nodes hold none of it.
    expect(after.sent!.nodes.map((node) => [node.mode, node.reason])).to.deep.equal(
      kind.nodes.map(() => ['full', 'the node holds none of its layers']),
    )
    expect((await up()).sent, 'nothing loaded, nothing sent').to.equal(null)
  })

  it('after an edit, sends each node only the layer that changed; -v says so node by node', async () => {
    const dockerfile = join(project, 'Dockerfile')
    await writeFile(dockerfile, `FROM ${await ensureBusyboxBase()}\nCOPY . /app/\n`)
    try {
      await up()
      await writeFile(join(project, 'index.html'), `v3 ${Date.now()}\n`)
      const after = await up()
      // Each node held the base layer, so it was sent only the new one, the config and the manifest.
      expect(after.sent!.method).to.equal('trimmed per node')
      expect(after.sent!.nodes.map((node) => [node.node, node.mode, node.blobsSent, node.blobsSkipped])).to.deep.equal(
        kind.nodes.map((node) => [node, 'trimmed', 3, 1]),
      )
      for (const node of after.sent!.nodes) expect(node.bytesSkipped).to.be.greaterThan(node.bytesSent)
      await writeFile(join(project, 'index.html'), `v4 ${Date.now()}\n`)
      const shown = await runCli(['up', '-v'], {cwd: project, env: {...env, NO_COLOR: '1'}})
      for (const node of kind.nodes)
        expect(shown.stderr).to.match(
          new RegExp(`${node}: trimmed, from docker push, sent 3 blobs \\(.*\\), left out 1 layer it holds`),
        )
      expect(shown.stderr).to.match(/loaded .* \(trimmed: .* sent to 2 nodes\)/)
    } finally {
      await writeFile(dockerfile, 'FROM scratch\nCOPY . /app/\n')
    }
  })

  it('loads into a minikube profile found by its kubeconfig extension, each node sent what it lacks; on a VM driver with minikube image load, reporting a load minikube silently dropped', async () => {
    // A VM driver (as the stand-in's profile list reports it) takes minikube image load, which can fail silently.
    const silent = await runCli(['up', '--kube-context', profile], {
      cwd: project,
      env: {...env, KUDEV_FAKE_MINIKUBE_DRIVER: 'kvm2', KUDEV_FAKE_MINIKUBE_SILENT_FAIL: '1'},
    })
    expect(silent.exitCode).to.equal(7)
    expect(silent.stderr).to.match(/exited 0, but profile ".*" does not have/)
    const loaded = await up('--kube-context', profile)
    expect(loaded).to.include({loaded: true, loader: 'minikube'})
    expect(loaded.sent!.method).to.equal('trimmed per node')
    expect(loaded.sent!.nodes.map((node) => node.node)).to.deep.equal(minikube.nodes)
    for (const node of minikube.nodes) expect(await nodeImageIds(node)).to.include(loaded.id)
  })

  it('loads the bundled example project (examples/hello) into the kind-style nodes', async () => {
    const example = join(repoRoot, 'examples', 'hello')
    await ensureBusyboxBase() // its Dockerfile builds on it
    const result = await runCli(['up', '--json', '-C', example], {env})
    expect(result.exitCode, result.stderr).to.equal(0)
    const {id, image} = JSON.parse(result.stdout) as UpJson
    expect(image).to.match(/^kudev-example\/hello:kudev-[0-9a-f]{8}$/)
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(id)
  })

  it("doctor passes where up works, with the engine, the builder, the loader's CLI and the nodes; a stopped node fails it with exit 7", async () => {
    const rows = async (...args: string[]) => {
      const result = await runCli(['doctor', '--json', ...args], {cwd: project, env})
      const report = JSON.parse(result.stdout) as {checks: {name: string; ok: boolean; summary: string}[]}
      return {exitCode: result.exitCode, rows: Object.fromEntries(report.checks.map((check) => [check.name, check]))}
    }

    const {stdout: versions} = await execa(
      'docker',
      ['version', '--format', '{{.Client.Version}} {{.Server.Version}}'],
      {env},
    )
    const [client, server] = versions.split(' ')
    const kindDoctor = await rows()
    expect(kindDoctor.exitCode).to.equal(0)
    expect(kindDoctor.rows.docker).to.deep.include({ok: true, summary: `CLI ${client}, engine ${server}`})
    expect(kindDoctor.rows['docker build']).to.include({ok: true})
    expect(kindDoctor.rows.kind)
      .to.include({ok: true})
      .and.have.property('summary')
      .that.match(/^kind v\d+\.\d+\.\d+ /)
    expect(kindDoctor.rows.cluster).to.deep.include({
      ok: true,
      summary: `kind cluster "${kindName}": nodes "${kind.nodes[0]}", "${kind.nodes[1]}" running`,
    })
    const minikubeDoctor = await rows('--kube-context', profile)
    expect(minikubeDoctor.exitCode).to.equal(0)
    expect(minikubeDoctor.rows.minikube).to.include({ok: true})
    expect(minikubeDoctor.rows.cluster).to.deep.include({
      ok: true,
      summary: `minikube profile "${profile}": node "${minikube.nodes[0]}" running`,
    })
    await execa('docker', ['stop', '--time', '1', kind.nodes[1]!])
    try {
      const stopped = await rows()
      expect(stopped.exitCode).to.equal(7)
      expect(stopped.rows.cluster).to.deep.include({
        ok: false,
        summary: `kind cluster "${kindName}" is not running: node "${kind.nodes[1]}" is exited`,
      })
    } finally {
      await execa('docker', ['start', kind.nodes[1]!])
    }
  })

  it('refuses a context no loader recognises, before building anything', async () => {
    const result = await runCli(['up', '--kube-context', 'gke_proj_zone_prod'], {cwd: project, env})
    expect(result.exitCode).to.equal(3)
    expect(result.stderr).to.include(
      'Error: kube context "gke_proj_zone_prod" is not a local cluster kudev knows (docker-desktop, kind-*, k3d-*, minikube profiles, microk8s, rancher-desktop, orbstack, colima)',
    )
    expect(result.stderr).to.include(
      'push to a registry the cluster pulls from (--registry HOST[/PATH], or spec.registry)',
    )
    expect(result.stderr).to.include(
      'pass --loader with one of: colima, docker-desktop, k3d, kind, microk8s, minikube, orbstack, rancher-desktop',
    )
    expect(result.stderr).to.not.include('building')
  })

  it('checks the cluster before building: no nodes fails at once, and the hint fits whether kind is installed', async () => {
    // A change, so that the image would have to be built.
    await writeFile(join(project, 'unbuilt.txt'), `${Date.now()}\n`)
    const withKind = await runCli(['up', '--kube-context', 'kind-gone'], {cwd: project, env})
    expect(withKind.exitCode).to.equal(7)
    expect(withKind.stderr).to.include('Error: no kind nodes found for cluster "gone" (context kind-gone)')
    expect(withKind.stderr).to.include('`kind get clusters` lists the clusters')
    expect(withKind.stderr).to.not.include('building')
    const withoutKind = await runCli(['up', '--kube-context', 'kind-gone'], {
      cwd: project,
      env: {...env, PATH: String(process.env.PATH)},
    })
    expect(withoutKind.exitCode).to.equal(7)
    expect(withoutKind.stderr).to.include('docker ps -a --filter label=io.x-k8s.kind.cluster lists the kind nodes')
    expect(withoutKind.stderr).to.include('install kind')
    expect(withoutKind.stderr).to.not.include('kind get clusters')
    await rm(join(project, 'unbuilt.txt'))
  })

  it('with --registry, pushes to it for any kube context, prints the name pods must use, and skips the push next time', async function () {
    await requireRegistry(this)
    const registry = await startRegistry(cleanup)
    const args = ['--kube-context', 'gke_proj_zone_prod', '--registry', registry.host]
    const first = await up(...args)
    expect(first).to.include({loader: 'registry', loaded: true})
    expect(first.clusterRef).to.equal(`${registry.host}/${first.image}`)
    cleanup.image(first.clusterRef!)
    expect(first.sent!.method).to.equal(`docker push ${first.clusterRef}`)
    const again = await runCli(['up', ...args], {cwd: project, env})
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stdout).to.equal(`${first.clusterRef} ${first.id}`)
    expect(again.stderr).to.include(`is already in gke_proj_zone_prod`)
    const doctor = await runCli(['doctor', '--json', ...args], {cwd: project, env})
    const checks = (JSON.parse(doctor.stdout) as {checks: {name: string; ok: boolean; summary: string}[]}).checks
    expect(checks.find((check) => check.name === 'loader')).to.include({
      ok: true,
      summary: 'registry (@kudev/plugin-registry-loader), --registry',
    })
    expect(checks.find((check) => check.name === 'registry')).to.include({ok: true})
    const bad = await runCli(['up', '--registry', 'https://x.io'], {cwd: project, env})
    expect(bad.exitCode).to.equal(2)
    expect(bad.stderr).to.include(
      '--registry: "https://x.io" is not a registry: write host[:port][/path] without https://',
    )
  })

  it('pushes to the registry a kind cluster advertises (KEP-1755), says why once, and --loader kind still side-loads', async function () {
    await requireRegistry(this)
    const registry = await startRegistry(cleanup)
    const api = await startApiServer(await cleanup.tempDir('kudev-api-'))
    cleanup.add('stand-in API server', () => api.close())
    api.hosting = hostingData(registry.host, {hostFromContainerRuntime: 'kind-registry:5000'})
    const dir = await cleanup.tempDir('kudev-advertised-')
    const advertising = {
      ...env,
      KUBECONFIG: await writeKubeconfig(api, dir, {auth: 'certificate', context: `kind-${kindName}`}),
      KUDEV_CACHE_DIR: join(dir, 'cache'),
    }
    await writeFile(join(project, 'index.html'), 'advertised\n')
    const first = await runCli(['up', '--json'], {cwd: project, env: advertising})
    expect(first.exitCode, first.stderr).to.equal(0)
    const pushed = JSON.parse(first.stdout) as UpJson
    expect(pushed).to.include({loaded: true, loader: 'registry'})
    expect(pushed.clusterRef).to.equal(`kind-registry:5000/${pushed.image}`)
    cleanup.image(`${registry.host}/${pushed.image}`)
    expect(first.stderr).to.include(
      `kube context "kind-${kindName}" advertises the registry ${registry.host}: kudev pushes there instead of loading into nodes (--loader kind to side-load)`,
    )
    expect(await registry.log()).to.include(
      `PUT /v2/${pushed.image.split(':')[0]}/manifests/${pushed.image.split(':')[1]}`,
    )
    expect(api.requests.filter((request) => request.path === HOSTING_PATH)).to.have.length(1)

    // Remembered: the cluster is not asked again and the reason is not repeated (only under -v).
    const again = await runCli(['up', '-v'], {cwd: project, env: advertising})
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stdout).to.equal(`${pushed.clusterRef} ${pushed.id}`)
    expect(again.stderr).to.not.include('advertises the registry')
    expect(again.stderr).to.match(
      /loader registry \(@kudev\/plugin-registry-loader\), the registry the cluster advertises/,
    )
    expect(again.stderr).to.match(/remembered from \S+ \(kudev doctor asks again\)/)
    expect(api.requests.filter((request) => request.path === HOSTING_PATH)).to.have.length(1)

    const sideLoaded = await runCli(['up', '--json', '--loader', 'kind'], {cwd: project, env: advertising})
    expect(sideLoaded.exitCode, sideLoaded.stderr).to.equal(0)
    expect(JSON.parse(sideLoaded.stdout)).to.include({clusterRef: null, loaded: true, loader: 'kind'})
    for (const node of kind.nodes) expect(await nodeImageIds(node)).to.include(pushed.id)

    const doctor = await runCli(['doctor', '--json'], {cwd: project, env: advertising})
    const checks = (JSON.parse(doctor.stdout) as {checks: {name: string; ok: boolean; summary: string}[]}).checks
    expect(checks.find((check) => check.name === 'cluster registry')).to.deep.equal({
      name: 'cluster registry',
      ok: true,
      summary: `${registry.host} (nodes pull it as kind-registry:5000), advertised in ConfigMap kube-public/local-registry-hosting: kudev up pushes there`,
    })

    // Nodes of another architecture: refused before the push, with the flag that fixes it.
    api.nodes = [{name: `${kindName}-control-plane`, platform: 'linux/arm64'}]
    await writeFile(join(project, 'index.html'), 'arm64 cluster\n')
    const pushes = (await registry.log()).split('PUT /v2/').length
    const refused = await runCli(['up'], {cwd: project, env: advertising})
    expect(refused.exitCode).to.equal(7)
    expect(refused.stderr).to.match(
      /is built for linux\/amd64, and no node of kind-\S+ runs linux\/amd64 \(the nodes run linux\/arm64\)/,
    )
    expect(refused.stderr).to.include('--platform linux/arm64')
    expect((await registry.log()).split('PUT /v2/').length).to.equal(pushes)
  })

  it('stops on SIGINT during a push to a registry: exit 130, --json says interrupted, no docker push left, no registry tag left', async function () {
    await requireRegistry(this)
    const registry = await startRegistry(cleanup)
    await writeFile(join(project, 'big.bin'), Buffer.alloc(96 * 1024 * 1024, 7))
    const child = execa(
      process.execPath,
      [join(repoRoot, 'bin', 'run.js'), 'up', '-v', '--json', '--registry', registry.host],
      {cwd: project, env: {...env, NO_COLOR: '1'}, reject: false},
    )
    let output = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const deadline = Date.now() + 120_000
    while (!/\$ docker push /.test(output) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode, output).to.equal(130)
    // --json still prints one document: the error, and nothing claimed loaded.
    const printed = JSON.parse(result.stdout) as {error?: {code: string}; loaded?: boolean}
    expect(printed.error?.code).to.equal('interrupted')
    expect(printed).to.not.have.property('loaded')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const left = await execa('pgrep', ['-af', `docker push ${registry.host}`], {reject: false})
    expect(left.stdout).to.equal('')
    const tags = await dockerResult([
      'image',
      'ls',
      '--format',
      '{{.Repository}}:{{.Tag}}',
      `${registry.host}/${imageName}`,
    ])
    expect(tags.stdout.trim()).to.equal('')
  })

  const interruptions: [string, string[], RegExp][] = [
    ['sending each node what it lacks', [], /\$ docker exec -i \S+ ctr --namespace=k8s.io images import/],
    ['with --full-load (kind load)', ['--full-load'], /\$ kind load/],
  ]
  for (const [what, flags, started] of interruptions) {
    it(`stops on SIGINT during a load ${what}: exit 130 and no kind, docker save or docker exec process left`, async () => {
      await writeFile(join(project, 'big.bin'), Buffer.alloc(64 * 1024 * 1024, flags.length + 1))
      const child = execa(process.execPath, [join(repoRoot, 'bin', 'run.js'), 'up', '-v', ...flags], {
        cwd: project,
        env: {...env, NO_COLOR: '1'},
        reject: false,
      })
      let output = ''
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
      })
      const deadline = Date.now() + 120_000
      while (!started.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      child.kill('SIGINT')
      const result = await child
      expect(result.exitCode, output).to.equal(130)
      await new Promise((resolve) => setTimeout(resolve, 500))
      const left = await execa('pgrep', ['-af', `kind load|docker save|docker exec -i ${kindName}|images import`], {
        reject: false,
      })
      expect(
        left.stdout.split('\n').filter((line) => line.includes(kindName) || line.includes(imageName)),
      ).to.deep.equal([])
    })
  }
})

describe('kudev up into a k3d-style cluster (real engine, real containerd, stand-in k3d)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  const name = `k3${process.pid % 10_000}`
  let k3d: TestCluster
  let project: string
  let env: NodeJS.ProcessEnv

  before(async function () {
    await requireDocker(this)
    k3d = await createK3dCluster(name, {agents: 1})
    ;({env, project} = await upProject(cleanup, 'k3d', [{cluster: `k3d-${name}`, name: `k3d-${name}`}], `k3d-${name}`))
  })

  after(async () => {
    await k3d?.remove()
  })

  it('loads into the server and the agent (not the load balancer); a second run neither builds nor loads; doctor shows both rows', async () => {
    const run = () => upJson(project, env, [])
    const first = await run()
    expect(first).to.include({built: true, context: `k3d-${name}`, loaded: true, loader: 'k3d'})
    for (const node of k3d.nodes) expect(await nodeImageIds(node), node).to.include(first.id)
    expect(await nodeImageIds(`k3d-${name}-serverlb`), 'the load balancer').to.not.include(first.id)
    expect(await run()).to.include({built: false, id: first.id, loaded: false})
    const doctor = await runCli(['doctor'], {cwd: project, env})
    expect(doctor.stdout).to.match(/k3d +k3d version v5\.9\.0/)
    expect(doctor.stdout).to.include(`k3d cluster "${name}": nodes "${k3d.nodes[1]}", "${k3d.nodes[0]}" running`)
  })
})
