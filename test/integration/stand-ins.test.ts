/**
 * The kind and minikube stand-ins (test/fixtures/bin) against node containers running a real containerd:
 * images really land in the nodes' `k8s.io` namespace, with the IDs the host reports, and the stand-ins
 * answer with the real CLIs' messages and exit codes. See docs/testing.md.
 */
import {expect} from 'chai'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {docker, dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {
  createDockerDesktopKindNode,
  createKindCluster,
  createMinikubeProfile,
  ensureNodeImage,
  hostImageId,
  kindNodeNames,
  minikubeNodeNames,
  nodeImageIds,
  nodeImageRefs,
  readStandInLog,
  removeAll,
  runStandIn,
  type TestCluster,
} from '../support/nodes.js'

/** Short, unique names: kind and minikube put them into container and host names. */
const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`

describe('kind and minikube stand-ins (integration)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let tmp: string
  let image: string
  let imageId: string

  /** A tiny FROM scratch image with unique content, so its ID is new to every node. */
  async function buildImage(name: string): Promise<{tag: string; id: string}> {
    const dir = path.join(tmp, name)
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'hello.txt'), `${name} ${uniqueName('content')}\n`)
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /\n')
    const tag = cleanup.image(`kudev-test/stand-in-${name}:${suffix}`)
    await docker(['build', '-q', '-t', tag, dir], {timeout: 120_000})
    return {id: await hostImageId(tag), tag}
  }

  function logFile(name: string): string {
    return path.join(tmp, `${name}-${uniqueName('log')}.jsonl`)
  }

  async function imports(file: string): Promise<string[]> {
    return (await readStandInLog(file)).filter((e) => e.event === 'import').map((e) => String(e.node))
  }

  before(async function () {
    await requireDocker(this)
    await ensureNodeImage()
    tmp = await cleanup.tempDir('kudev-stand-ins-')
    ;({tag: image, id: imageId} = await buildImage('app'))
  })

  after(async function () {
    this.timeout(120_000)
    await removeAll()
  })

  describe('kind, one node', () => {
    const name = `kt1${suffix}`
    let cluster: TestCluster

    before(async () => {
      cluster = await createKindCluster(name)
    })

    after(() => cluster.remove())

    it('names and labels the node like kind', async () => {
      expect(cluster.nodes).to.deep.equal([`${name}-control-plane`])
      expect(kindNodeNames('x', 2)).to.deep.equal(['x-control-plane', 'x-worker', 'x-worker2'])
      const labels = await docker(['inspect', '--format', '{{json .Config.Labels}}', cluster.nodes[0]!])
      expect(JSON.parse(labels)).to.include({'io.x-k8s.kind.cluster': name, 'io.x-k8s.kind.role': 'control-plane'})
    })

    it('`kind version` answers like kind', async () => {
      const result = await runStandIn('kind', ['version'])
      expect(result.exitCode).to.equal(0)
      expect(result.stdout).to.match(/^kind v\d+\.\d+\.\d+ go\S+ linux\/\S+$/)
    })

    it('`kind load docker-image` puts the host image ID into the node', async () => {
      const log = logFile('kind')
      const result = await runStandIn('kind', ['load', 'docker-image', image, '--name', name], {
        env: {KUDEV_FAKE_KIND_LOG: log},
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(result.stderr).to.include(
        `Image: "${image}" with ID "${imageId}" not yet present on node "${name}-control-plane", loading...`,
      )
      expect(await nodeImageIds(cluster.nodes[0]!)).to.include(imageId)
      expect(await nodeImageRefs(cluster.nodes[0]!)).to.include(`docker.io/${image}`)
      expect(await imports(log)).to.deep.equal([`${name}-control-plane`])
      const [invocation] = await readStandInLog(log)
      expect(invocation?.argv).to.deep.equal(['load', 'docker-image', image, '--name', name])
    })

    it('a second load finds the image already present and imports nothing', async () => {
      const log = logFile('kind')
      const result = await runStandIn('kind', ['load', 'docker-image', image, '-n', name], {
        env: {KUDEV_FAKE_KIND_LOG: log},
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(result.stderr.trim()).to.equal(
        `Image: "${image}" with ID "${imageId}" found to be already present on all nodes.`,
      )
      expect(await imports(log)).to.deep.equal([])
    })

    it('re-tags, without importing, when the ID is there under another name', async () => {
      const other = cleanup.image(`kudev-test/stand-in-retag:${suffix}`)
      await docker(['tag', image, other])
      // the CRI plugin adds the sha256:<id> ref kind tags from a moment after an import
      for (let i = 0; i < 50 && !(await nodeImageRefs(cluster.nodes[0]!)).includes(imageId); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }

      const log = logFile('kind')
      const result = await runStandIn('kind', ['load', 'docker-image', other, '--name', name], {
        env: {KUDEV_FAKE_KIND_LOG: log},
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(result.stderr).to.include(
        `already present on the node ${name}-control-plane but is missing the tag docker.io/${other}. re-tagging...`,
      )
      expect(await imports(log)).to.deep.equal([])
      expect(await nodeImageRefs(cluster.nodes[0]!)).to.include(`docker.io/${other}`)
    })

    it('takes the cluster name from KIND_CLUSTER_NAME when --name is not given', async () => {
      const nodes = await runStandIn('kind', ['get', 'nodes'], {env: {KIND_CLUSTER_NAME: name}})
      expect(nodes.stdout.split('\n')).to.deep.equal([`${name}-control-plane`])
      const load = await runStandIn('kind', ['load', 'docker-image', image], {env: {KIND_CLUSTER_NAME: name}})
      expect(load.stderr).to.include('found to be already present on all nodes.')
    })

    it('`kind load image-archive` imports a `docker save` tar', async () => {
      const archived = await buildImage('archived')
      const tar = path.join(tmp, 'archived.tar')
      await docker(['save', '-o', tar, archived.tag])
      const result = await runStandIn('kind', ['load', 'image-archive', tar, '--name', name])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(await nodeImageIds(cluster.nodes[0]!)).to.include(archived.id)
      const missing = await runStandIn('kind', ['load', 'image-archive', path.join(tmp, 'nope.tar'), '--name', name])
      expect(missing.exitCode).to.equal(1)
      expect(missing.stderr.trim()).to.equal(`ERROR: stat ${path.join(tmp, 'nope.tar')}: no such file or directory`)
    })

    it('an image missing on the host: exit 1, `image: "X" not present locally`', async () => {
      const result = await runStandIn('kind', ['load', 'docker-image', 'kudev-test/no-such-image:0', '--name', name])
      expect(result.exitCode).to.equal(1)
      expect(result.stderr.trim()).to.equal('ERROR: image: "kudev-test/no-such-image:0" not present locally')
    })

    it('a cluster without nodes: exit 1, `no nodes found for cluster "X"`', async () => {
      const result = await runStandIn('kind', ['load', 'docker-image', image, '--name', `none${suffix}`])
      expect(result.exitCode).to.equal(1)
      expect(result.stderr.trim()).to.equal(`ERROR: no nodes found for cluster "none${suffix}"`)
      const nodes = await runStandIn('kind', ['get', 'nodes', '--name', `none${suffix}`])
      expect(nodes.exitCode).to.equal(0)
      expect(nodes.stderr.trim()).to.equal(`No kind nodes found for cluster "none${suffix}".`)
    })

    it('`kind get clusters` lists the cluster', async () => {
      const result = await runStandIn('kind', ['get', 'clusters'])
      expect(result.exitCode).to.equal(0)
      expect(result.stdout.split('\n')).to.include(name)
    })

    it('rejects unknown commands and flags as cobra does', async () => {
      const command = await runStandIn('kind', ['lod', 'docker-image', image])
      expect(command.exitCode).to.equal(1)
      expect(command.stderr).to.match(/^ERROR: unknown command "lod" for "kind"\n\nDid you mean this\?\n\tload\n/)
      const flag = await runStandIn('kind', ['load', 'docker-image', image, '--cluster', name])
      expect(flag.exitCode).to.equal(1)
      expect(flag.stderr.trim()).to.equal('ERROR: unknown flag: --cluster')
      const none = await runStandIn('kind', ['load', 'docker-image'])
      expect(none.stderr.trim()).to.equal('ERROR: a list of image names is required')
    })
  })

  describe('kind, control plane + worker', () => {
    const name = `kt2${suffix}`
    let cluster: TestCluster

    before(async () => {
      cluster = await createKindCluster(name, {workers: 1})
    })

    after(() => cluster.remove())

    it('loads the image into both nodes', async () => {
      expect(cluster.nodes).to.deep.equal([`${name}-control-plane`, `${name}-worker`])
      const log = logFile('kind2')
      const result = await runStandIn('kind', ['load', 'docker-image', image, '--name', name], {
        env: {KUDEV_FAKE_KIND_LOG: log},
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      for (const node of cluster.nodes) {
        expect(result.stderr).to.include(`not yet present on node "${node}", loading...`)
        expect(await nodeImageIds(node)).to.include(imageId)
      }

      expect((await imports(log)).sort()).to.deep.equal([...cluster.nodes].sort())
    })

    it('--nodes limits the load to the named nodes', async () => {
      const only = await buildImage('worker-only')
      const result = await runStandIn('kind', [
        'load',
        'docker-image',
        only.tag,
        '--name',
        name,
        '--nodes',
        `${name}-worker`,
      ])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(await nodeImageIds(`${name}-worker`)).to.include(only.id)
      expect(await nodeImageIds(`${name}-control-plane`)).not.to.include(only.id)
      const unknown = await runStandIn('kind', ['load', 'docker-image', only.tag, '--name', name, '--nodes', 'nope'])
      expect(unknown.stderr.trim()).to.equal('ERROR: unknown node: "nope"')
    })
  })

  describe("Docker Desktop's kind node", () => {
    let cluster: TestCluster | undefined

    before(async function () {
      // the name is fixed: leave alone one that another run (or a real Docker Desktop) owns
      if (!(await dockerResult(['container', 'inspect', 'desktop-control-plane'])).failed) this.skip()
      cluster = await createDockerDesktopKindNode()
    })

    after(async () => cluster?.remove())

    it('is desktop-control-plane of kind cluster "desktop", and loads like any kind node', async () => {
      expect(cluster?.nodes).to.deep.equal(['desktop-control-plane'])
      const nodes = await runStandIn('kind', ['get', 'nodes', '--name', 'desktop'])
      expect(nodes.stdout).to.equal('desktop-control-plane')
      const result = await runStandIn('kind', ['load', 'docker-image', image, '--name', 'desktop'])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(await nodeImageIds('desktop-control-plane')).to.include(imageId)
    })
  })

  describe('minikube, two nodes', () => {
    const profile = `mk${suffix}`
    let cluster: TestCluster

    before(async () => {
      cluster = await createMinikubeProfile(profile, {nodes: 2})
    })

    after(() => cluster.remove())

    it("names and labels the nodes like minikube's docker driver", async () => {
      expect(cluster.nodes).to.deep.equal([profile, `${profile}-m02`])
      expect(minikubeNodeNames('p', 3)).to.deep.equal(['p', 'p-m02', 'p-m03'])
      const labels = JSON.parse(await docker(['inspect', '--format', '{{json .Config.Labels}}', `${profile}-m02`]))
      expect(labels).to.include({
        'created_by.minikube.sigs.k8s.io': 'true',
        'mode.minikube.sigs.k8s.io': `${profile}-m02`,
        'name.minikube.sigs.k8s.io': `${profile}-m02`,
        'role.minikube.sigs.k8s.io': '',
      })
    })

    it('`minikube status` exits 0 for a running profile', async () => {
      const result = await runStandIn('minikube', ['-p', profile, 'status'])
      expect(result.exitCode, result.stdout).to.equal(0)
      expect(result.stdout).to.include(`${profile}\ntype: Control Plane\nhost: Running`)
      expect(result.stdout).to.include(`${profile}-m02\ntype: Worker\nhost: Running`)
    })

    it('`minikube status` of an unknown profile: exit 85 and the profile hint', async () => {
      const result = await runStandIn('minikube', ['status'], {env: {MINIKUBE_PROFILE: `none${suffix}`}})
      expect(result.exitCode).to.equal(85)
      expect(result.stdout).to.include(
        `Profile "none${suffix}" not found. Run "minikube profile list" to view all profiles.`,
      )
      expect(result.stdout).to.include(`To start a cluster, run: "minikube start -p none${suffix}"`)
    })

    /** One valid profile of `minikube profile list -o json`, as the loader reads it. */
    interface ListedProfile {
      Name: string
      Status: string
      Active: boolean
      ActiveKubeContext: boolean
      Config: {
        Name: string
        Driver: string
        KubernetesConfig: {ContainerRuntime: string; ClusterName: string}
        Nodes: {Name: string; ControlPlane: boolean; Worker: boolean; ContainerRuntime: string}[]
      }
    }

    const listed = (stdout: string) =>
      (JSON.parse(stdout) as {invalid: unknown[]; valid: ListedProfile[]}).valid.find((p) => p.Name === profile)

    it('`minikube profile list -o json --light`: the profile, docker driver, containerd, both nodes; no newline after it', async () => {
      const result = await runStandIn('minikube', ['profile', 'list', '-o', 'json', '--light'])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(result.stderr).to.equal('')
      expect(result.stdout).to.match(/^\{"invalid":\[\],"valid":\[.*\]\}$/s)
      const entry = listed(result.stdout)!
      expect(entry).to.include({ActiveKubeContext: false, Name: profile, Status: 'Skipped'})
      expect(entry.Config).to.include({Driver: 'docker', Name: profile})
      expect(entry.Config.KubernetesConfig).to.include({ClusterName: profile, ContainerRuntime: 'containerd'})
      expect(entry.Config.Nodes.map((n) => [n.Name, n.ControlPlane, n.Worker, n.ContainerRuntime])).to.deep.equal([
        ['', true, true, 'containerd'],
        ['m02', false, true, 'containerd'],
      ])
      const names = (JSON.parse(result.stdout) as {valid: ListedProfile[]}).valid.map((p) => p.Name)
      expect(names, 'the second node is no profile of its own').not.to.include(`${profile}-m02`)
    })

    it('`minikube profile list -o json` without --light: status OK, the active profile and kube context; KUDEV_FAKE_MINIKUBE_DRIVER and _RUNTIME change what it reports', async () => {
      const kubeconfig = path.join(tmp, `${uniqueName('kubeconfig')}.yaml`)
      await writeFile(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: ${profile}\n`)
      const result = await runStandIn('minikube', ['profile', 'list', '--output=json'], {
        env: {
          KUBECONFIG: kubeconfig,
          KUDEV_FAKE_MINIKUBE_DRIVER: 'kvm2',
          KUDEV_FAKE_MINIKUBE_RUNTIME: 'docker',
          MINIKUBE_PROFILE: profile,
        },
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      const entry = listed(result.stdout)!
      expect(entry).to.include({Active: true, ActiveKubeContext: true, Status: 'OK'})
      expect(entry.Config.Driver).to.equal('kvm2')
      expect(entry.Config.KubernetesConfig.ContainerRuntime).to.equal('docker')
    })

    it('`minikube profile list` with another output format: exit 64 (MK_USAGE)', async () => {
      const result = await runStandIn('minikube', ['profile', 'list', '-o', 'yaml'])
      expect(result.exitCode).to.equal(64)
      expect(result.stderr).to.include(
        "Exiting due to MK_USAGE: invalid output format: yaml. Valid values: 'table', 'json'",
      )
    })

    it('`minikube image load` imports the image into both nodes', async () => {
      const log = logFile('minikube')
      const result = await runStandIn('minikube', ['-p', profile, 'image', 'load', image], {
        env: {KUDEV_FAKE_MINIKUBE_LOG: log},
      })
      expect(result.exitCode, result.stderr).to.equal(0)
      for (const node of cluster.nodes) expect(await nodeImageIds(node)).to.include(imageId)
      expect(await imports(log)).to.deep.equal(cluster.nodes)
    })

    it('`minikube image ls --format json` lists it with its ID', async () => {
      const result = await runStandIn('minikube', ['-p', profile, 'image', 'ls', '--format', 'json'])
      expect(result.exitCode, result.stderr).to.equal(0)
      const images = JSON.parse(result.stdout) as Array<{
        id: string
        repoDigests: string[]
        repoTags: string[]
        size: string
      }>
      const entry = images.find((i) => i.repoTags.includes(`docker.io/${image}`))
      expect(entry).to.include({id: imageId})
      expect(entry?.size).to.match(/^\d+$/)
      expect(entry?.repoDigests).to.be.an('array')
      const short = await runStandIn('minikube', ['-p', profile, 'image', 'ls'])
      expect(short.stdout.split('\n')).to.include(`docker.io/${image}`)
    })

    it('with KUDEV_FAKE_MINIKUBE_SILENT_FAIL=1 exits 0 and loads nothing', async () => {
      const silent = await buildImage('silent')
      const result = await runStandIn('minikube', ['-p', profile, 'image', 'load', silent.tag], {
        env: {KUDEV_FAKE_MINIKUBE_SILENT_FAIL: '1'},
      })
      expect(result.exitCode).to.equal(0)
      expect(result.stderr).to.equal('')
      for (const node of cluster.nodes) expect(await nodeImageIds(node)).not.to.include(silent.id)
    })

    it('an image missing on the host only warns, and exits 0', async () => {
      const result = await runStandIn('minikube', ['-p', profile, 'image', 'load', 'kudev-test/no-such-image:0'])
      expect(result.exitCode).to.equal(0)
      expect(result.stderr.trim()).to.equal(
        "! The image 'kudev-test/no-such-image:0' was not found; unable to add it to cache.",
      )
    })

    it('`image load` of an unknown profile exits 64 (MK_USAGE)', async () => {
      const result = await runStandIn('minikube', ['-p', `none${suffix}`, 'image', 'load', image])
      expect(result.exitCode).to.equal(64)
      expect(result.stderr).to.include(
        `Exiting due to MK_USAGE: loading profile: cluster "none${suffix}" does not exist`,
      )
    })
  })
})
