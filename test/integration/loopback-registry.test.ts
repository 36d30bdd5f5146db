/**
 * startLoopbackPush against the real engine: what `docker push` hands over to the registry kudev runs on
 * 127.0.0.1 (every layer the first time, then only the new ones), the limit past which it keeps nothing
 * but lets the push prime Docker, and that no push, tag or registry outlives it.
 */
import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {realToolkit} from '../../src/testing/index.js'
import {startLoopbackPush} from '../../src/toolkit/loopback-registry.js'
import {dockerResult, requireDocker, suiteCleanup, uniqueName} from '../support/docker.js'
import {processes, waitFor} from '../support/processes.js'

const sha256 = (content: Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`

describe('startLoopbackPush: the layers docker push hands over (real engine)', function () {
  this.timeout(120_000)
  const cleanup = suiteCleanup()
  const toolkit = realToolkit()

  before(async function () {
    await requireDocker(this)
  })

  /** An image of two layers: `big` random bytes, then a small file that changes with every call. */
  async function image(dir: string, ref: string, big: Buffer) {
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'big.bin'), big)
    await writeFile(path.join(dir, 'app.txt'), `${uniqueName('app')}\n`)
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY big.bin /\nCOPY app.txt /\n')
    const tagged = cleanup.image(ref)
    await dockerResult(['build', '-q', '-t', tagged, dir])
    const {stdout} = await dockerResult(['image', 'inspect', '-f', '{{.Id}}', tagged])
    return {id: stdout.trim(), ref: tagged}
  }

  const push = (image: {id: string}, dir: string) => startLoopbackPush(toolkit, image, dir).handed

  async function loopbackTags(): Promise<string[]> {
    const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    return stdout.split('\n').filter((line) => line.startsWith('127.0.0.1:') && line.includes('/kudev/load:'))
  }

  it('hands over every layer the first time, then after an edit only the new layer and the config', async () => {
    const root = await cleanup.tempDir('kudev-loopback-')
    const big = randomBytes(2 << 20)
    const name = `kudev-test/${uniqueName('loopback')}`
    const first = await image(path.join(root, 'a'), `${name}:1`, big)
    const firstPush = await push(first, await cleanup.tempDir('kudev-push-'))
    expect(sha256(firstPush.config)).to.equal(first.id)
    expect(firstPush.diffIds).to.have.length(2)
    expect([...firstPush.sent.keys()].sort()).to.deep.equal([...firstPush.diffIds].sort())
    for (const [diffId, layer] of firstPush.sent) expect(sha256(await readFile(layer.file))).to.equal(diffId)

    const second = await image(path.join(root, 'b'), `${name}:2`, big)
    const secondPush = await push(second, await cleanup.tempDir('kudev-push-'))
    expect(sha256(secondPush.config)).to.equal(second.id)
    expect(secondPush.diffIds[0]).to.equal(firstPush.diffIds[0])
    // Docker pushed the big layer before (to another port): it asked, kudev said yes, it was not sent.
    expect([...secondPush.sent.keys()]).to.deep.equal([secondPush.diffIds[1]])
    expect(await loopbackTags()).to.deep.equal([])
  })

  it('past its limit, gives up what it received (saying why) and goes on keeping nothing, so that the next push of an edit hands over only the new layer', async () => {
    const root = await cleanup.tempDir('kudev-loopback-')
    const fresh = randomBytes(1 << 20)
    const name = `kudev-test/${uniqueName('limit')}`
    const limited = await image(path.join(root, 'c'), `${name}:1`, fresh)
    const dir = await cleanup.tempDir('kudev-push-')
    const pushing = startLoopbackPush(toolkit, limited, dir, {maxBytes: 64 << 10})
    const error = await pushing.handed.then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(error?.message).to.equal(
      `docker push would upload more than ${64 << 10} bytes: a layer Docker has never pushed`,
    )
    expect(await pushing.finished, 'the push itself ends well').to.equal(undefined)
    expect(pushing.ended).to.equal(true)
    expect(await readdir(dir), 'nothing kept').to.deep.equal([])
    expect(await loopbackTags()).to.deep.equal([])

    const edited = await image(path.join(root, 'd'), `${name}:2`, fresh)
    const next = await push(edited, await cleanup.tempDir('kudev-push-'))
    expect([...next.sent.keys()]).to.deep.equal([next.diffIds[1]])
  })

  it('a push that cannot start (no such image): handed rejects, finished says why, no tag left', async () => {
    const dir = await cleanup.tempDir('kudev-push-')
    const pushing = startLoopbackPush(toolkit, {id: `sha256:${'0'.repeat(64)}`}, dir)
    const error = await pushing.handed.then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(error?.message).to.match(/^could not tag sha256:0{64} for a push to kudev's loopback registry: /)
    expect(await pushing.finished).to.equal(error?.message)
    expect(await loopbackTags()).to.deep.equal([])
  })

  it('an abort stops docker push, ends the push and its registry, and leaves no loopback tag', async () => {
    const root = await cleanup.tempDir('kudev-loopback-')
    // A layer Docker never pushed: compressing 24 MB of random bytes keeps the push busy for a while.
    const busy = await image(path.join(root, 'e'), `kudev-test/${uniqueName('abort')}:1`, randomBytes(24 << 20))
    const controller = new AbortController()
    const pushing = startLoopbackPush(toolkit, busy, await cleanup.tempDir('kudev-push-'), {
      maxBytes: 1 << 30,
      signal: controller.signal,
    })
    await waitFor(async () => (await processes('docker push 127\\.0\\.0\\.1:')).length > 0)
    controller.abort()
    const error = await pushing.handed.then(
      () => undefined,
      (thrown: Error) => thrown,
    )
    expect(error, 'handed rejects').to.be.instanceOf(Error)
    expect(await pushing.finished).to.equal(error?.message)
    expect(await processes('docker push 127\\.0\\.0\\.1:')).to.deep.equal([])
    expect(await loopbackTags()).to.deep.equal([])
  })
})
