/**
 * A save spooled as it streams (src/toolkit/archive-spool.ts), and the names kudev learns for the layers
 * it may leave out of it (src/toolkit/layer-names.ts).
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {spoolArchive} from '../../../src/toolkit/archive-spool.js'
import {layerNames} from '../../../src/toolkit/layer-names.js'
import {END_OF_ARCHIVE, padding, readTarIndex, tarHeader} from '../../../src/util/tar.js'

function tar(entries: {name: string; content?: Buffer; type?: 'dir' | 'file' | 'symlink'; link?: string}[]): Buffer {
  const parts: Buffer[] = []
  for (const {content = Buffer.alloc(0), link, name, type = 'file'} of entries)
    parts.push(
      ...tarHeader({linkTarget: link, mode: 0o644, mtimeSeconds: 0, name, size: content.length, type}),
      content,
      padding(content.length),
    )
  return Buffer.concat([...parts, END_OF_ARCHIVE])
}

async function* chunked(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

describe('spoolArchive', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kudev-spool-'))
  })
  afterEach(async () => {
    await rm(dir, {force: true, recursive: true})
  })

  const big = Buffer.alloc(300_000, 'b')
  const archive = tar([
    {name: 'a/', type: 'dir'},
    {content: Buffer.from('{"x":1}'), name: 'a/json'},
    {content: big, name: 'a/layer.tar'},
    {link: '../a/layer.tar', name: 'b/layer.tar', type: 'symlink'},
    {content: Buffer.alloc(0), name: 'empty'},
    {content: Buffer.from('[]'), name: 'manifest.json'},
  ])

  it('copies the stream entry by entry into a tar that GNU tar reads, content where the index says', async () => {
    const file = join(dir, 'out.tar')
    const spooled = await spoolArchive(chunked(archive, 777), file, 'the test stream', async () => false)
    expect(spooled.leftOut).to.equal(0)
    const written = await readFile(file)
    expect(spooled.bytes).to.equal(written.length)
    expect(written).to.deep.equal(archive)
    expect([...spooled.entries.values()]).to.deep.equal(await readTarIndex(file))
  })

  it('leaves out the content of the files leaveOut names, asked once per non-empty file before its content', async () => {
    const file = join(dir, 'out.tar')
    const asked: [string, number][] = []
    const spooled = await spoolArchive(chunked(archive, 4096), file, 'the test stream', async (name, size) => {
      asked.push([name, size])
      return name === 'a/layer.tar'
    })
    expect(asked).to.deep.equal([
      ['a/json', 7],
      ['a/layer.tar', big.length],
      ['manifest.json', 2],
    ])
    expect(spooled.leftOut).to.equal(1)
    expect(spooled.entries.get('a/layer.tar')).to.deep.equal({
      linkname: '',
      name: 'a/layer.tar',
      offset: -1,
      size: big.length,
      type: '0',
    })
    const written = await readFile(file)
    expect(written.length).to.equal(spooled.bytes).and.to.be.lessThan(10_000)
    const listed = await execa('tar', ['-tf', file])
    expect(listed.stdout.split('\n')).to.deep.equal(['a/', 'a/json', 'b/layer.tar', 'empty', 'manifest.json'])
    const kept = spooled.entries.get('manifest.json')!
    expect(written.subarray(kept.offset, kept.offset + kept.size).toString()).to.equal('[]')
  })

  it('fails naming the stream when it is not a tar archive, or ends early', async () => {
    const fails = (bytes: Buffer) =>
      spoolArchive(chunked(bytes, 100), join(dir, 'out.tar'), 'the test stream', async () => false).then(
        () => '',
        (error: Error) => error.message,
      )
    expect(await fails(Buffer.from('no tar here\n'.repeat(50)))).to.match(/^the test stream is not a tar archive/)
    expect(await fails(archive.subarray(0, 3000))).to.match(/^the test stream ends inside/)
  })
})

describe('layerNames', () => {
  let dir: string
  const env = () => ({KUDEV_CACHE_DIR: dir})
  const v1 = (char: string) => `${char.repeat(64)}/layer.tar`
  const digest = (char: string) => `sha256:${char.repeat(64)}`
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kudev-layer-names-'))
  })
  afterEach(async () => {
    await rm(dir, {force: true, recursive: true})
  })

  it("knows an OCI layout's blobs by their names, and nothing else before it learns", () => {
    const names = layerNames(env())
    expect(names.digestOf(`blobs/sha256/${'a'.repeat(64)}`)).to.equal(digest('a'))
    expect(names.digestOf(v1('a'))).to.equal(undefined)
    expect(names.digestOf('blobs/sha256/short')).to.equal(undefined)
  })

  it('remembers what a manifest said each layer file held, for later runs; not names without an ID in them', () => {
    layerNames(env()).learn(
      new Map([
        [v1('1'), digest('a')],
        ['0/layer.tar', digest('b')],
      ]),
    )
    const later = layerNames(env())
    expect(later.digestOf(v1('1'))).to.equal(digest('a'))
    expect(later.digestOf('0/layer.tar')).to.equal(undefined)
    // A name that now holds another layer is corrected.
    later.learn(new Map([[v1('1'), digest('c')]]))
    expect(layerNames(env()).digestOf(v1('1'))).to.equal(digest('c'))
  })

  it('ignores a cache file of another version, a damaged one, and values that are no digests', async () => {
    const file = join(dir, 'layer-names.json')
    await writeFile(file, JSON.stringify({names: {[v1('1')]: digest('a')}, version: 99}))
    expect(layerNames(env()).digestOf(v1('1'))).to.equal(undefined)
    await writeFile(file, '{"names": {')
    expect(layerNames(env()).digestOf(v1('1'))).to.equal(undefined)
    await writeFile(file, JSON.stringify({names: {[v1('1')]: 'rm -rf /', [v1('2')]: digest('b')}, version: 1}))
    expect(layerNames(env()).digestOf(v1('1'))).to.equal(undefined)
    expect(layerNames(env()).digestOf(v1('2'))).to.equal(digest('b'))
  })
})
