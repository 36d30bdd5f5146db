import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'

import {MinikubeLoader} from '../src/loader.js'

const ID = `sha256:${'c'.repeat(64)}`
const MANIFEST = `sha256:${'m'.repeat(64)}`
const target = {context: 'dev-mk', params: {profile: 'dev-mk'}}
const signal = new AbortController().signal
/** --full-load: minikube image load, whatever the driver. */
const FULL = {full: true}
const CLASSIC_INFO = 'linux\tx86_64\t[["Backing Filesystem","extfs"],["Supports d_type","true"]]'

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: ID,
    inDockerDaemon: true,
    ref: 'app:1',
    save: () => Promise.resolve(Readable.from(['tar bytes'])),
    ...more,
  }
}

/** minikube answering `image ls` with `before` until a load, `after` from then on; `load` is what `image load` prints. */
function minikube(options: {before?: unknown[]; after?: unknown[]; load?: Answer; ls?: Answer} = {}) {
  let loaded = false
  return fakeToolkit((command) => {
    if (command[0] !== 'minikube') return undefined
    if (command[4] === 'load') {
      loaded = true
      return options.load ?? {}
    }

    if (command[4] === 'ls')
      return options.ls ?? {stdout: `${JSON.stringify(loaded ? (options.after ?? []) : (options.before ?? []))}\n`}
    return undefined
  })
}

const present = [{id: ID, repoDigests: [], repoTags: ['docker.io/library/app:1'], size: '1234'}]

describe('minikube loader (commands)', () => {
  it("has() looks for the ID under the image's name in minikube image ls, whatever the runtime's spelling", async () => {
    expect(await new MinikubeLoader(minikube({before: present})).has(image(), target)).to.equal(true)
    expect(
      await new MinikubeLoader(minikube({before: [{id: ID.slice(7), repoTags: ['app:1']}]})).has(image(), target),
    ).to.equal(true)
    expect(
      await new MinikubeLoader(minikube({before: [{id: ID, repoTags: ['docker.io/library/other:1']}]})).has(
        image(),
        target,
      ),
    ).to.equal(false)
    expect(
      await new MinikubeLoader(
        minikube({before: [{id: `sha256:${'d'.repeat(64)}`, repoTags: ['docker.io/library/app:1']}]}),
      ).has(image(), target),
    ).to.equal(false)
    const toolkit = minikube({ls: {stdout: `! a notice first\n${JSON.stringify(present)}\n`}})
    expect(await new MinikubeLoader(toolkit).has(image(), target)).to.equal(true)
    expect(toolkit.commands).to.deep.equal([['minikube', '-p', 'dev-mk', 'image', 'ls', '--format', 'json']])
  })

  it('loads from the Docker daemon with image load --daemon, then checks the list', async () => {
    const toolkit = minikube({after: present, load: {stdout: 'I… Transferred and loaded\n'}})
    const report = await new MinikubeLoader(toolkit).load(image(), target, signal, FULL)
    expect(report).to.deep.equal({method: 'minikube image load', nodes: []})
    expect(toolkit.commands).to.deep.equal([
      ['minikube', '-p', 'dev-mk', 'image', 'load', 'app:1', '--daemon'],
      ['minikube', '-p', 'dev-mk', 'image', 'ls', '--format', 'json'],
    ])
    expect(toolkit.logs.debug).to.include('minikube: I… Transferred and loaded')
  })

  it('loads an image that is not in the Docker daemon from its save() as an archive, removed afterwards', async () => {
    const toolkit = minikube({after: present})
    await new MinikubeLoader(toolkit).load(image({inDockerDaemon: false}), target, signal, FULL)
    const archive = toolkit.commands[0]![5]!
    expect(toolkit.commands[0]).to.deep.equal(['minikube', '-p', 'dev-mk', 'image', 'load', archive])
    expect(path.basename(archive)).to.equal('image.tar')
    expect(existsSync(path.dirname(archive))).to.equal(false)
  })

  it('reports a load that exited 0 without loading, naming minikube#23023', async () => {
    const error = await rejection(new MinikubeLoader(minikube({after: []})).load(image(), target, signal, FULL))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(
      `minikube -p dev-mk image load app:1 --daemon exited 0, but profile "dev-mk" does not have app:1 (${ID})`,
    )
    expect(error.hint).to.include('https://github.com/kubernetes/minikube/issues/23023')
    expect(error.hint).to.include('minikube -p dev-mk image load app:1 --daemon --alsologtostderr')
  })

  it('explains a profile that does not exist', async () => {
    const ls = {
      exitCode: 64,
      stderr: '\nX Exiting due to MK_USAGE: loading profile: cluster "dev-mk" does not exist\n\n',
    }
    const error = await rejection(new MinikubeLoader(minikube({ls})).has(image(), target))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal('minikube profile "dev-mk" (context dev-mk) does not exist')
    expect(error.hint).to.include('minikube start -p dev-mk')
  })

  it("reports any other failure with minikube's reason", async () => {
    const load = {exitCode: 80, stderr: 'X Exiting due to GUEST_IMAGE_LOAD: Failed to load image: something broke\n'}
    const error = await rejection(new MinikubeLoader(minikube({load})).load(image(), target, signal, FULL))
    expect(error.message).to.equal(
      'minikube -p dev-mk image load app:1 --daemon failed: Failed to load image: something broke',
    )
  })

  it('says when the image list is not JSON (a minikube too old for --format json)', async () => {
    const error = await rejection(
      new MinikubeLoader(minikube({ls: {stdout: 'docker.io/library/app:1\n'}})).has(image(), target),
    )
    expect(error.message).to.equal(
      'could not read the image list of minikube profile "dev-mk" from minikube -p dev-mk image ls --format json',
    )
  })

  it('uses the context name when the target names no profile', async () => {
    const toolkit = minikube({before: present})
    await new MinikubeLoader(toolkit).has(image(), {context: 'minikube', params: {}})
    expect(toolkit.commands[0]!.slice(0, 3)).to.deep.equal(['minikube', '-p', 'minikube'])
  })
})

/** What toolkit.loadIntoNodes reports for each node in these tests. */
const SENT = {
  blobsSent: 3,
  blobsSkipped: 1,
  bytesSent: 4096,
  bytesSkipped: 1e8,
  durationMs: 5,
  mode: 'trimmed' as const,
}

/**
 * A minikube profile "dev-mk" as `minikube profile list -o json --light` and docker show it (beside a
 * VM profile "other"): `nodes` are its config.Node names, primary first; `containers` what `docker ps`
 * lists with minikube's label; `holding` the nodes whose docker.io/library/app:1 already is the image.
 * loadIntoNodes is recorded, not run.
 */
function profile(
  options: {
    driver?: string
    runtime?: string
    nodes?: string[]
    containers?: Record<string, string>
    holding?: string[]
    list?: Answer
    docker?: Answer
  } = {},
) {
  const config = (name: string, driver: string, runtime: string, nodes: string[]) => ({
    Active: false,
    ActiveKubeContext: false,
    Config: {
      Driver: driver,
      KubernetesConfig: {ClusterName: name, ContainerRuntime: runtime, KubernetesVersion: 'v1.35.1'},
      Name: name,
      Nodes: nodes.map((node, i) => ({ContainerRuntime: runtime, ControlPlane: i === 0, Name: node, Worker: true})),
    },
    Name: name,
    Status: 'Skipped',
  })
  const list = {
    invalid: [],
    valid: [
      config('dev-mk', options.driver ?? 'docker', options.runtime ?? 'containerd', options.nodes ?? ['', 'm02']),
      config('other', 'kvm2', 'docker', ['']),
    ],
  }
  const containers = options.containers ?? {'dev-mk': 'running', 'dev-mk-m02': 'running', unrelated: 'running'}
  let loaded = false
  const toolkit = fakeToolkit((command) => {
    const line = command.join(' ')
    if (line === 'minikube profile list --output json --light') return options.list ?? {stdout: JSON.stringify(list)}
    if (line.startsWith('docker ps -a --filter label=created_by.minikube.sigs.k8s.io=true --format ')) {
      return (
        options.docker ?? {
          stdout: Object.entries(containers)
            .map(([name, state]) => `${name}\t${state}\n`)
            .join(''),
        }
      )
    }

    if (line.startsWith('docker info')) return {stdout: `${CLASSIC_INFO}\n`}
    const ls = /^docker exec (\S+) ctr --namespace=k8s.io images ls name==(\S+)$/.exec(line)
    if (ls) {
      const header = 'REF TYPE DIGEST SIZE PLATFORMS LABELS\n'
      const row = `${ls[2]} application/vnd.oci.image.manifest.v1+json ${MANIFEST} 3.6 KiB linux/amd64 -\n`
      return {stdout: options.holding?.includes(ls[1]!) ? header + row : header}
    }

    if (line === `docker exec dev-mk ctr --namespace=k8s.io content get ${MANIFEST}`)
      return {stdout: JSON.stringify({config: {digest: ID}})}
    if (command[0] === 'minikube' && command[4] === 'load') {
      loaded = true
      return {}
    }

    if (command[0] === 'minikube' && command[4] === 'ls') return {stdout: JSON.stringify(loaded ? present : [])}
    return undefined
  })
  const loads: unknown[] = []
  toolkit.loadIntoNodes = async (loading, nodes, options) => {
    loads.push([loading.ref, nodes, options.full])
    return nodes.map((node) => ({...SENT, node}))
  }

  const lines = () => toolkit.commands.map((command) => command.join(' '))
  return {lines, loads, toolkit}
}

describe('minikube loader (which path)', () => {
  it('on the docker driver with containerd, sends each node container that lacks the image only what it lacks, without minikube image load', async () => {
    const {lines, loads, toolkit} = profile()
    const report = await new MinikubeLoader(toolkit).load(image(), target, signal)
    expect(report).to.deep.equal({
      method: 'trimmed per node',
      nodes: [
        {...SENT, node: 'dev-mk'},
        {...SENT, node: 'dev-mk-m02'},
      ],
    })
    expect(loads).to.deep.equal([['app:1', ['dev-mk', 'dev-mk-m02'], undefined]])
    expect(lines()).to.include.members([
      'minikube profile list --output json --light',
      'docker ps -a --filter label=created_by.minikube.sigs.k8s.io=true --format {{.Names}}\t{{.State}}',
    ])
    expect(lines().some((line) => line.includes('image load') || line.includes('image ls'))).to.equal(false)
  })

  it('leaves out a node that already has the image, and one that is stopped (as minikube image load does)', async () => {
    const has = profile({holding: ['dev-mk']})
    await new MinikubeLoader(has.toolkit).load(image(), target, signal)
    expect(has.loads).to.deep.equal([['app:1', ['dev-mk-m02'], undefined]])

    const stopped = profile({containers: {'dev-mk': 'running', 'dev-mk-m02': 'exited'}})
    await new MinikubeLoader(stopped.toolkit).load(image(), target, signal)
    expect(stopped.loads).to.deep.equal([['app:1', ['dev-mk'], undefined]])
    expect(stopped.toolkit.logs.debug).to.include(
      'minikube node "dev-mk-m02" is exited: not loaded, as minikube image load leaves it',
    )
  })

  it('fails naming the nodes when none of them runs', async () => {
    const {toolkit} = profile({containers: {'dev-mk': 'exited', 'dev-mk-m02': 'exited'}})
    const error = await rejection(new MinikubeLoader(toolkit).load(image(), target, signal))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(
      'minikube profile "dev-mk" is not running: node "dev-mk" is exited, node "dev-mk-m02" is exited',
    )
    expect(error.hint).to.equal('start it: minikube start -p dev-mk')
  })

  it("names the nodes as config.MachineName does: a single node is the profile's, whatever its Name", async () => {
    const {loads, toolkit} = profile({nodes: ['m01'], containers: {'dev-mk': 'running'}})
    await new MinikubeLoader(toolkit).load(image(), target, signal)
    expect(loads).to.deep.equal([['app:1', ['dev-mk'], undefined]])
    const three = profile({
      nodes: ['', 'm02', 'm03'],
      containers: {'dev-mk': 'running', 'dev-mk-m02': 'running', 'dev-mk-m03': 'running'},
    })
    await new MinikubeLoader(three.toolkit).load(image(), target, signal)
    expect(three.loads).to.deep.equal([['app:1', ['dev-mk', 'dev-mk-m02', 'dev-mk-m03'], undefined]])
  })

  it('on the podman driver, loads into the nodes when docker sees their containers', async () => {
    const {loads, toolkit} = profile({driver: 'podman'})
    expect((await new MinikubeLoader(toolkit).load(image(), target, signal)).method).to.equal('trimmed per node')
    expect(loads).to.have.length(1)
  })

  const fallbacks: [string, Parameters<typeof profile>[0], string][] = [
    ['a VM driver', {driver: 'kvm2'}, 'its driver "kvm2" does not run its nodes as containers'],
    ['the none driver', {driver: 'none'}, 'its driver "none" does not run its nodes as containers'],
    ['the docker runtime', {runtime: 'docker'}, 'its container runtime is "docker", not containerd'],
    ['cri-o', {runtime: 'crio'}, 'its container runtime is "crio", not containerd'],
    [
      "the podman driver, when docker does not see podman's containers",
      {containers: {}, driver: 'podman'},
      'docker does not see its node containers (podman driver: dev-mk, dev-mk-m02)',
    ],
    [
      'node containers docker does not list',
      {containers: {'dev-mk': 'running'}},
      'docker does not see its node container dev-mk-m02',
    ],
    [
      'a profile minikube does not list',
      {list: {stdout: '{"invalid":[],"valid":[]}'}},
      'minikube profile list --output json --light does not list it',
    ],
    [
      'a minikube without profile list --light (before 1.17)',
      {
        list: {
          exitCode: 64,
          stderr: "Error: unknown shorthand flag: 'l' in -l\nRun 'minikube profile list --help' for usage.\n",
        },
      },
      "minikube profile list --output json --light gave no profile list (exit code 64: Run 'minikube profile list --help' for usage.)",
    ],
    [
      'docker failing',
      {docker: {exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n'}},
      "docker cannot list its node containers (could not list minikube's node containers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)",
    ],
  ]
  for (const [what, options, reason] of fallbacks) {
    it(`with ${what}, loads with minikube image load and says why at debug level`, async () => {
      const {lines, loads, toolkit} = profile(options)
      const report = await new MinikubeLoader(toolkit).load(image(), target, signal)
      expect(report).to.deep.equal({method: 'minikube image load', nodes: []})
      expect(loads).to.deep.equal([])
      expect(lines()).to.include('minikube -p dev-mk image load app:1 --daemon')
      expect(toolkit.logs.debug).to.include(`minikube profile "dev-mk": ${reason}, so minikube image load loads it`)
    })
  }

  it('--full-load runs minikube image load without asking for the profile list', async () => {
    const {lines, loads, toolkit} = profile()
    const report = await new MinikubeLoader(toolkit).load(image(), target, signal, FULL)
    expect(report).to.deep.equal({method: 'minikube image load', nodes: []})
    expect(loads).to.deep.equal([])
    expect(lines()).to.deep.equal([
      'minikube -p dev-mk image load app:1 --daemon',
      'minikube -p dev-mk image ls --format json',
    ])
  })

  it('reads the profile list after any JSON lines minikube prints before it', async () => {
    const list = JSON.stringify({
      invalid: [],
      valid: [
        {
          Config: {
            Driver: 'docker',
            KubernetesConfig: {ContainerRuntime: 'containerd'},
            Name: 'dev-mk',
            Nodes: [{Name: ''}],
          },
          Name: 'dev-mk',
        },
      ],
    })
    const notice = JSON.stringify({data: {message: 'a notice'}, type: 'io.k8s.sigs.minikube.warning'})
    const {loads, toolkit} = profile({containers: {'dev-mk': 'running'}, list: {stdout: `${notice}\n${list}`}})
    await new MinikubeLoader(toolkit).load(image(), target, signal)
    expect(loads).to.deep.equal([['app:1', ['dev-mk'], undefined]])
  })
})
