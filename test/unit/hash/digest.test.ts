import {expect} from 'chai'
import {createHash} from 'node:crypto'

import type {Entry} from '../../../src/context/entries.js'
import {buildDigest, type BuildInputs, DIGEST_FORMAT, FolderDigest} from '../../../src/hash/digest.js'

const inputs: BuildInputs = {
  buildArgs: {},
  dockerfile: Buffer.from('FROM scratch\n'),
  dockerfilePath: 'Dockerfile',
  exclusions: [],
}
const entry = (path: string, type: Entry['type'], extra: Partial<Entry> = {}): Entry => ({
  ctimeNs: 1n,
  dev: 1n,
  ino: 1n,
  mode: type === 'dir' ? 0o755 : 0o644,
  mtimeNs: 1n,
  path,
  size: 0,
  type,
  ...extra,
})
const content = (text: string) => Buffer.alloc(32, text)

/** The digest of a context whose root holds `entries`: a file with its content hash, a folder with its folder digest. */
function digestOf(overrides: Partial<BuildInputs> = {}, entries: Array<[Entry, Buffer?]> = []): string {
  return buildDigest({...inputs, ...overrides}, folderDigest(entries))
}

function folderDigest(entries: Array<[Entry, Buffer?]>): Buffer {
  const digest = new FolderDigest()
  for (const [item, bytes] of entries) digest.add(item, bytes)
  return digest.finish()
}

// The framing documented in src/hash/digest.ts, written out by hand.
const u8 = (value: number) => Buffer.from([value])
const u32 = (value: number) => Buffer.from([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff])
const str = (text: string) => Buffer.concat([u32(Buffer.byteLength(text)), Buffer.from(text)])
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest()

describe('context digest', () => {
  it('is pinned for fixed inputs: changing the framing must bump DIGEST_FORMAT', () => {
    expect(DIGEST_FORMAT).to.equal(3)
    const folderA = folderDigest([[entry('a/f', 'file', {mode: 0o755, size: 3}), content('x')]])
    const digest = digestOf(
      {
        buildArgs: {B: '2', A: '1'},
        ignoreFile: {bytes: Buffer.from('.git\n'), path: '.dockerignore'},
        platform: 'linux/amd64',
        target: 'app',
      },
      [[entry('a', 'dir'), folderA], [entry('l', 'symlink', {linkTarget: 'a/f', mode: 0o777})]],
    )
    const a = sha(Buffer.concat([u8(1), str('f'), u32(0o755), content('x'), u8(0)]))
    expect(folderA).to.deep.equal(a)
    const context = sha(Buffer.concat([u8(2), str('a'), u32(0o755), a, u8(3), str('l'), u32(0o777), str('a/f'), u8(0)]))
    const framed = Buffer.concat([
      str('kudev build inputs'),
      u32(3),
      str('Dockerfile'),
      sha(Buffer.from('FROM scratch\n')),
      u8(1),
      str('.dockerignore'),
      sha(Buffer.from('.git\n')),
      u32(0),
      u32(2),
      str('A'),
      str('1'),
      str('B'),
      str('2'),
      u8(1),
      str('app'),
      u8(1),
      str('linux/amd64'),
      context,
    ])
    expect(digest).to.equal(sha(framed).toString('hex'))
    expect(digest).to.equal('a3d2d0056e0eb7a12454e107390d24a0792f78a5ac331b622e37417e8f65d60d')
  })

  it('frames every field so that moving bytes between neighbours changes it', () => {
    expect(digestOf({buildArgs: {a: 'bc'}})).not.to.equal(digestOf({buildArgs: {ab: 'c'}}))
    expect(digestOf({exclusions: ['ab', 'c']})).not.to.equal(digestOf({exclusions: ['a', 'bc']}))
    expect(digestOf({}, [[entry('a', 'symlink', {linkTarget: 'bc'})]])).not.to.equal(
      digestOf({}, [[entry('ab', 'symlink', {linkTarget: 'c'})]]),
    )
    const empty = folderDigest([])
    expect(
      digestOf({}, [
        [entry('a', 'dir'), empty],
        [entry('b', 'dir'), empty],
      ]),
    ).not.to.equal(digestOf({}, [[entry('a', 'dir'), empty]]))
    // A folder's content moves its digest, and so its parent's.
    expect(digestOf({}, [[entry('a', 'dir'), folderDigest([[entry('a/f', 'file'), content('x')]])]])).not.to.equal(
      digestOf({}, [[entry('a', 'dir'), folderDigest([[entry('a/g', 'file'), content('x')]])]]),
    )
  })

  it('tells no target from an empty one, and kudev defaults from an empty ignore file', () => {
    expect(digestOf({target: ''})).not.to.equal(digestOf({}))
    expect(digestOf({ignoreFile: {bytes: Buffer.alloc(0), path: '.dockerignore'}})).not.to.equal(digestOf({}))
  })

  it('does not depend on the order build args are given in', () => {
    expect(digestOf({buildArgs: {A: '1', B: '2'}})).to.equal(digestOf({buildArgs: {B: '2', A: '1'}}))
  })

  it('ignores what Docker does not put in the image: times, owners, inode, size field', () => {
    const file = entry('f', 'file', {mode: 0o644})
    expect(digestOf({}, [[{...file, ctimeNs: 9n, dev: 7n, ino: 5n, mtimeNs: 3n}, content('x')]])).to.equal(
      digestOf({}, [[file, content('x')]]),
    )
  })

  it('uses only the permission bits of the mode', () => {
    expect(digestOf({}, [[entry('f', 'file', {mode: 0o100644}), content('x')]])).to.equal(
      digestOf({}, [[entry('f', 'file', {mode: 0o644}), content('x')]]),
    )
    expect(digestOf({}, [[entry('f', 'file', {mode: 0o755}), content('x')]])).not.to.equal(
      digestOf({}, [[entry('f', 'file', {mode: 0o644}), content('x')]]),
    )
  })

  it('handles names longer than its buffer', () => {
    const long = 'n'.repeat(80_000)
    expect(digestOf({}, [[entry(long, 'file'), content('x')]])).not.to.equal(
      digestOf({}, [[entry(long + 'g', 'file'), content('x')]]),
    )
  })

  it('frames a folder the same whatever its size: many entries, long names and link targets across buffer flushes', () => {
    const entries: Array<[Entry, Buffer?]> = []
    const framed: Buffer[] = []
    for (let index = 0; index < 300; index++) {
      const name = `${'é'.repeat(index % 7 === 0 ? 1500 : 3)}-${index}`
      if (index % 5 === 0) {
        const target = `../${'t'.repeat(index * 13)}`
        entries.push([entry(name, 'symlink', {linkTarget: target, mode: 0o777})])
        framed.push(u8(3), str(name), u32(0o777), str(target))
      } else {
        entries.push([entry(name, 'file'), content(String(index))])
        framed.push(u8(1), str(name), u32(0o644), content(String(index)))
      }
    }

    expect(folderDigest(entries)).to.deep.equal(sha(Buffer.concat([...framed, u8(0)])))
  })
})
