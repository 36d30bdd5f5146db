import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'

import {Microk8sLoader} from '../src/loader.js'

const ID = `sha256:${'c'.repeat(64)}`
const MANIFEST = `sha256:${'a'.repeat(64)}`
const OTHER = `sha256:${'d'.repeat(64)}`
const target = {context: 'microk8s', params: {}}
const signal = new AbortController().signal
const CLASSIC_INFO = 'linux\tx86_64\t[["Backing Filesystem","extfs"],["Supports d_type","true"]]'
const CONTAINERD_INFO = 'linux\tx86_64\t[["driver-type","io.containerd.snapshotter.v1"]]'
const HEADER =
  'REF                     TYPE                                                 DIGEST    SIZE     PLATFORMS   LABELS'
/** microk8s status --format short on a running cluster (print_short, scripts/wrappers/status.py). */
const RUNNING = 'microk8s is running\naddons:\ncore/dns: enabled\ncore/registry: disabled\n'

function image(more: Partial<LoadableImage> = {}): LoadableImage {
  return {
    id: ID,
    inDockerDaemon: true,
    ref: 'app:1',
    save: () => Promise.resolve(Readable.from(['tar bytes'])),
    ...more,
  }
}

function row(ref: string, digest: string): string {
  return `${ref} application/vnd.docker.distribution.manifest.v2+json ${digest} 1.2 KiB linux/amd64 -`
}

interface Script {
  /** What `microk8s ctr images ls name==…` lists before and after the import. */
  before?: string[]
  after?: string[]
  /** manifest digest → what `microk8s ctr content get` prints. */
  content?: Record<string, unknown>
  import?: Answer
  status?: Answer
  version?: Answer
  info?: string
}

function microk8s(script: Script = {}) {
  let imported = false
  return fakeToolkit((command) => {
    if (command[0] === 'docker' && command[1] === 'info') return {stdout: script.info ?? CLASSIC_INFO}
    if (command[0] === 'docker' && command[1] === 'save') return {}
    if (command[0] !== 'microk8s') return undefined
    const args = command.slice(1).join(' ')
    if (args === 'version') return script.version ?? {stdout: 'MicroK8s v1.32.3 revision 8148\n'}
    if (args === 'status --format short') return script.status ?? {stdout: RUNNING}
    if (args.startsWith('images import ')) {
      imported = true
      return script.import ?? {stdout: 'Pushing OCI images to 127.0.0.1:25000\n'}
    }

    if (args.startsWith('ctr images ls name==')) {
      const rows = (imported ? script.after : script.before) ?? []
      return {stdout: [HEADER, ...rows].join('\n') + '\n'}
    }

    if (args.startsWith('ctr content get ')) {
      const body = script.content?.[command[4]!]
      return body === undefined
        ? {exitCode: 1, stderr: `ctr: ${command[4]}: not found\n`}
        : {stdout: JSON.stringify(body)}
    }

    return undefined
  })
}

const manifest = {config: {digest: ID}, layers: [], mediaType: 'application/vnd.docker.distribution.manifest.v2+json'}
const present = {after: [row('docker.io/library/app:1', MANIFEST)], content: {[MANIFEST]: manifest}}

describe('microk8s loader (commands)', () => {
  it("has() reads the digest the image's name points at in k8s.io and the config digest inside it", async () => {
    const toolkit = microk8s({before: present.after, content: present.content})
    expect(await new Microk8sLoader(toolkit).has(image())).to.equal(true)
    expect(toolkit.commands).to.deep.equal([
      ['microk8s', 'ctr', 'images', 'ls', 'name==docker.io/library/app:1'],
      ['microk8s', 'ctr', 'content', 'get', MANIFEST],
    ])
  })

  it('has() answers false for a name that is absent or points at another image', async () => {
    expect(await new Microk8sLoader(microk8s()).has(image())).to.equal(false)
    const moved = microk8s({before: present.after, content: {[MANIFEST]: {config: {digest: OTHER}}}})
    expect(await new Microk8sLoader(moved).has(image())).to.equal(false)
  })

  it("has() takes the config of this machine's platform from an index, and a manifest digest as the ID", async () => {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch
    const index = {
      manifests: [
        {digest: OTHER, platform: {architecture: 'riscv64', os: 'linux'}},
        {digest: MANIFEST, platform: {architecture: arch, os: 'linux'}},
      ],
      mediaType: 'application/vnd.oci.image.index.v1+json',
    }
    const INDEX = `sha256:${'e'.repeat(64)}`
    const toolkit = microk8s({
      before: [row('docker.io/library/app:1', INDEX)],
      content: {[INDEX]: index, [MANIFEST]: manifest},
    })
    expect(await new Microk8sLoader(toolkit).has(image())).to.equal(true)
    expect(await new Microk8sLoader(microk8s({before: [row('docker.io/library/app:1', ID)]})).has(image())).to.equal(
      true,
    )
  })

  it('loads a docker save archive with microk8s images import, then checks the name, removing the archive', async () => {
    const toolkit = microk8s(present)
    const report = await new Microk8sLoader(toolkit).load(image(), target, signal)
    expect(report).to.deep.equal({method: 'microk8s images import', nodes: []})
    const save = toolkit.commands.find((command) => command[1] === 'save')!
    const archive = save.at(-2)!
    expect(save).to.deep.equal(['docker', 'save', '-o', archive, 'app:1'])
    expect(path.basename(archive)).to.equal('image.tar')
    expect(toolkit.commands).to.deep.include(['microk8s', 'images', 'import', archive])
    expect(existsSync(path.dirname(archive))).to.equal(false)
    expect(toolkit.logs.debug).to.include('microk8s: Pushing OCI images to 127.0.0.1:25000')
  })

  it("saves only the engine's platform from Docker's containerd image store", async () => {
    const toolkit = microk8s({...present, info: CONTAINERD_INFO})
    await new Microk8sLoader(toolkit).load(image(), target, signal)
    const save = toolkit.commands.find((command) => command[1] === 'save')!
    expect(save.slice(0, 4)).to.deep.equal(['docker', 'save', '--platform', 'linux/amd64'])
  })

  it("imports an image that is not in Docker from its builder's save()", async () => {
    const toolkit = microk8s(present)
    await new Microk8sLoader(toolkit).load(image({inDockerDaemon: false}), target, signal)
    expect(toolkit.commands.some((command) => command[0] === 'docker')).to.equal(false)
    expect(toolkit.commands[0]!.slice(0, 3)).to.deep.equal(['microk8s', 'images', 'import'])
  })

  it('fails (load) when a node printed that its import failed, though microk8s exited 0', async () => {
    const stdout =
      'Pushing OCI images to 127.0.0.1:25000\nFailed to import images on 127.0.0.1:25000: failed to import the image: microk8s.ctr command failed: exit status 1\n'
    const error = await rejection(
      new Microk8sLoader(microk8s({...present, import: {stdout}})).load(image(), target, signal),
    )
    expect(error.code).to.equal('load')
    expect(error.message).to.match(
      /^microk8s images import \S+image\.tar failed: Failed to import images on 127\.0\.0\.1:25000: failed to import the image/,
    )
  })

  it('fails (load) when the import exited 0 but the name does not point at the ID', async () => {
    const moved = {after: present.after, content: {[MANIFEST]: {config: {digest: OTHER}}}}
    const error = await rejection(new Microk8sLoader(microk8s(moved)).load(image(), target, signal))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(`microk8s images import exited 0, but MicroK8s does not have app:1 (${ID})`)
    expect(error.hint).to.equal(
      'see what containerd holds under the name: microk8s ctr images ls name==docker.io/library/app:1',
    )
  })

  it('fails (load) with the last line of a failed import', async () => {
    const failed = {exitCode: 1, stderr: 'Failed to list nodes (try 10): …\nCould not query for nodes\n'}
    const error = await rejection(new Microk8sLoader(microk8s({import: failed})).load(image(), target, signal))
    expect(error.code).to.equal('load')
    expect(error.message).to.match(/^microk8s images import \S+ failed: Could not query for nodes$/)
    expect(error.hint).to.include('microk8s status')
  })

  it('check() passes a running MicroK8s and refuses one that is stopped, not ready, or not permitted', async () => {
    await new Microk8sLoader(microk8s()).check(target)
    const stopped = await rejection(
      new Microk8sLoader(microk8s({status: {stderr: 'microk8s is not running, try microk8s start\n'}})).check(target),
    )
    expect([stopped.code, stopped.message, stopped.hint]).to.deep.equal([
      'load',
      'MicroK8s is stopped (kube context microk8s)',
      'start it: microk8s start',
    ])
    const notReady = await rejection(
      new Microk8sLoader(
        microk8s({
          status: {exitCode: 1, stdout: 'microk8s is not running. Use microk8s inspect for a deeper inspection.\n'},
        }),
      ).check(target),
    )
    expect(notReady.message).to.equal('MicroK8s is not running: its API server or node is not ready')
    expect(notReady.hint).to.include('microk8s status --wait-ready')
    const stderr =
      "Insufficient permissions to access MicroK8s.\nYou can either try again with sudo or add the user dev to the 'microk8s' group:\n\n    sudo usermod -a -G microk8s dev\n    sudo chown -R $USER ~/.kube\n"
    const denied = await rejection(new Microk8sLoader(microk8s({status: {exitCode: 1, stderr}})).check(target))
    expect(denied.message).to.equal('this user may not use MicroK8s (insufficient permissions)')
    expect(denied.hint).to.equal('sudo usermod -a -G microk8s dev, then newgrp microk8s (or run kudev with sudo)')
  })

  it('check() refuses a MicroK8s that is a worker of another cluster with what status printed', async () => {
    // microk8s-status.wrapper on a joined worker: these two lines, exit 0
    const stdout = 'This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n'
    const error = await rejection(new Microk8sLoader(microk8s({status: {stdout}})).check(target))
    expect(error.code).to.equal('load')
    expect(error.message).to.equal(
      'microk8s status --format short did not say MicroK8s is running: This MicroK8s deployment is acting as a node in a cluster.',
    )
    expect(error.details).to.deep.equal(['Please use the control plane node.'])
  })

  it('diagnose() gives the version and the state of the cluster', async () => {
    const rows = await new Microk8sLoader(microk8s()).diagnose(target)
    expect(rows).to.deep.equal([
      {name: 'microk8s', ok: true, summary: 'MicroK8s v1.32.3 revision 8148'},
      {name: 'cluster', ok: true, summary: 'MicroK8s is running'},
    ])
    const stopped = await new Microk8sLoader(
      microk8s({status: {stderr: 'microk8s is not running, try microk8s start\n'}}),
    ).diagnose(target)
    expect(stopped[1]).to.deep.include({name: 'cluster', ok: false, hint: 'start it: microk8s start'})
  })
})
