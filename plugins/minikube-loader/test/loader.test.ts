import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {type Answer, fakeToolkit, rejection} from 'kudev/testing'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'

import {MinikubeLoader} from '../src/loader.js'

const ID = `sha256:${'c'.repeat(64)}`
const target = {context: 'dev-mk', params: {profile: 'dev-mk'}}
const signal = new AbortController().signal

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
    await new MinikubeLoader(toolkit).load(image(), target, signal)
    expect(toolkit.commands).to.deep.equal([
      ['minikube', '-p', 'dev-mk', 'image', 'load', 'app:1', '--daemon'],
      ['minikube', '-p', 'dev-mk', 'image', 'ls', '--format', 'json'],
    ])
    expect(toolkit.logs.debug).to.include('minikube: I… Transferred and loaded')
  })

  it('loads an image that is not in the Docker daemon from its save() as an archive, removed afterwards', async () => {
    const toolkit = minikube({after: present})
    await new MinikubeLoader(toolkit).load(image({inDockerDaemon: false}), target, signal)
    const archive = toolkit.commands[0]![5]!
    expect(toolkit.commands[0]).to.deep.equal(['minikube', '-p', 'dev-mk', 'image', 'load', archive])
    expect(path.basename(archive)).to.equal('image.tar')
    expect(existsSync(path.dirname(archive))).to.equal(false)
  })

  it('reports a load that exited 0 without loading, naming minikube#23023', async () => {
    const error = await rejection(new MinikubeLoader(minikube({after: []})).load(image(), target, signal))
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
    const error = await rejection(new MinikubeLoader(minikube({load})).load(image(), target, signal))
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
