import {expect} from 'chai'
import {execa} from 'execa'
import {link, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, truncate, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {
  END_OF_ARCHIVE,
  padding,
  readTarIndex,
  tarHeader,
  type TarHeader,
  type TarIndexEntry,
} from '../../../src/util/tar.js'

/** GNU tar, run with an argument array in a UTF-8 locale (non-ASCII names are written as is). */
async function gnuTar(args: string[]): Promise<void> {
  await execa('tar', args, {env: {LC_ALL: 'C.UTF-8'}, timeout: 60_000})
}

/** Bytes [offset, offset + size) of `file`. */
async function slice(file: string, offset: number, size: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const content = Buffer.alloc(size)
    const {bytesRead} = await handle.read(content, 0, size, offset)
    return content.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** Entries keyed by name without GNU tar's leading `./` and a folder's trailing `/`. */
function byName(entries: TarIndexEntry[]): Map<string, TarIndexEntry> {
  return new Map(entries.map((entry) => [entry.name.replace(/^\.\//, '').replace(/\/$/, ''), entry]))
}

/** One ustar header block with the size field written as given (12 bytes) and a correct checksum. */
function handMadeHeader(name: string, sizeField: Buffer): Buffer {
  const block = Buffer.alloc(512)
  block.write(name, 0, 100, 'utf8')
  block.write('0000644\u0000', 100, 'ascii')
  block.write('0000000\u0000', 108, 'ascii')
  block.write('0000000\u0000', 116, 'ascii')
  sizeField.copy(block, 124, 0, 12)
  block.write('00000000000\u0000', 136, 'ascii')
  block.write('        ', 148, 'ascii')
  block.write('0', 156, 'ascii')
  block.write('ustar\u000000', 257, 'ascii')
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii')
  return block
}

/** A base-256 size field: high bit set, the value big-endian in the 12 bytes. */
function base256(value: number): Buffer {
  const field = Buffer.alloc(12)
  let rest = value
  for (let i = 11; i > 0; i--) {
    field[i] = rest % 256
    rest = Math.floor(rest / 256)
  }

  field[0] = 0x80
  return field
}

describe('readTarIndex', () => {
  let root: string
  let src: string
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kudev-tar-index-'))
    src = join(root, 'src')
    await mkdir(src)
  })
  afterEach(async () => {
    await rm(root, {force: true, recursive: true})
  })

  const longFile = `${'long-file-name-'.repeat(10)}end.txt` // 157 characters, one path component
  const longTarget = `${'link-target-'.repeat(10)}x` // 121 characters
  const unicode = 'ünïcødé-名前.txt'
  const exactly100 = `${'n'.repeat(96)}.txt` // fills the name field: no terminating NUL

  /** A tree with every kind of entry; returns the regular files' content by name. */
  async function makeTree(): Promise<Record<string, Buffer>> {
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha\n'),
      'dir/b.bin': Buffer.from(Array.from({length: 1500}, (_, i) => i % 251)),
      'dir/sub/c.txt': Buffer.from('a block exactly'.padEnd(512, '.')),
      'empty.txt': Buffer.alloc(0),
      [longFile]: Buffer.from('long name\n'),
      [unicode]: Buffer.from('unicode\n'),
      [exactly100]: Buffer.from('one hundred\n'),
    }
    await mkdir(join(src, 'dir', 'sub'), {recursive: true})
    for (const [name, content] of Object.entries(files)) await writeFile(join(src, name), content)
    await symlink('a.txt', join(src, 'link'))
    await symlink(longTarget, join(src, 'long-link'))
    await link(join(src, 'a.txt'), join(src, 'z-hard.txt'))
    return files
  }

  for (const format of ['gnu', 'posix', 'ustar'] as const) {
    it(`indexes a GNU tar --format=${format} archive: files, folders, links, long and non-ASCII names, offsets`, async () => {
      const files = await makeTree()
      const archive = join(root, 'out.tar')
      // ustar cannot hold a 157-character single component or a 121-character link target.
      const names = (await readdir(src)).filter(
        (name) => format !== 'ustar' || (name !== longFile && name !== 'long-link'),
      )
      await gnuTar(['-C', src, `--format=${format}`, '--sort=name', '-cf', archive, ...names])
      const entries = byName(await readTarIndex(archive))

      expect([...entries.keys()].sort()).to.deep.equal(
        [
          'a.txt',
          'dir',
          'dir/b.bin',
          'dir/sub',
          'dir/sub/c.txt',
          'empty.txt',
          'link',
          'z-hard.txt',
          unicode,
          exactly100,
          ...(format === 'ustar' ? [] : [longFile, 'long-link']),
        ].sort(),
      )
      for (const [name, content] of Object.entries(files)) {
        if (format === 'ustar' && name === longFile) continue
        const entry = entries.get(name)!
        expect(entry.type, name).to.equal('0')
        expect(entry.size, name).to.equal(content.length)
        expect(await slice(archive, entry.offset, entry.size), name).to.deep.equal(content)
      }

      expect(entries.get('dir')!.type).to.equal('5')
      expect(entries.get('dir/sub')!.type).to.equal('5')
      expect(entries.get('link')).to.include({linkname: 'a.txt', size: 0, type: '2'})
      expect(entries.get('z-hard.txt')).to.include({linkname: 'a.txt', size: 0, type: '1'})
      if (format !== 'ustar') expect(entries.get('long-link')).to.include({linkname: longTarget, type: '2'})
      // Offsets are content starts: each is a whole number of blocks past the start.
      for (const entry of entries.values()) expect(entry.offset % 512).to.equal(0)
    })
  }

  it('follows a GNU long name whose ustar field holds a truncated stub, and a long path split across folders', async () => {
    const deep = `${'folder-'.repeat(20)}/${'sub-'.repeat(20)}/file.txt` // 229 characters
    await mkdir(join(src, deep, '..'), {recursive: true})
    await writeFile(join(src, deep), 'deep\n')
    for (const format of ['gnu', 'posix', 'ustar']) {
      const archive = join(root, `${format}.tar`)
      await gnuTar(['-C', src, `--format=${format}`, '-cf', archive, deep])
      const entries = await readTarIndex(archive)
      expect(entries.map((entry) => entry.name)).to.deep.equal([deep])
      expect(await slice(archive, entries[0]!.offset, entries[0]!.size)).to.deep.equal(Buffer.from('deep\n'))
    }
  })

  // GNU-format headers ("ustar  \0" magic) have no prefix field: bytes 345-356 hold the access time, which
  // GNU tar fills in --incremental mode (and Go's archive/tar in FormatGNU when AccessTime is set).
  it('reads a GNU-format header whose access and change times are set (bytes 345+ are not a ustar prefix)', async () => {
    await writeFile(join(src, 'a.txt'), 'hi\n')
    const archive = join(root, 'incremental.tar')
    await gnuTar(['-C', src, '--format=gnu', '--incremental', '-cf', archive, 'a.txt'])
    const header = await slice(archive, 0, 512)
    expect(header.toString('latin1', 257, 265)).to.equal('ustar  \u0000')
    expect(header[345]).to.not.equal(0) // the atime is there
    const entries = await readTarIndex(archive)
    expect(entries.map((entry) => entry.name)).to.deep.equal(['a.txt'])
  })

  it("indexes the archive kudev's own tarHeader writes: ustar prefix split, PAX path and linkpath", async () => {
    const split = `${'segment/'.repeat(20)}file.txt` // 168 characters, splits into prefix + name
    const pax = `ünï/${'x'.repeat(120)}.txt` // non-ASCII and a 124-character last component
    const target = `${'t'.repeat(130)}/target`
    const items: {header: TarHeader; content: Buffer}[] = [
      {content: Buffer.alloc(0), header: {mode: 0o755, mtimeSeconds: 1, name: 'folder/', size: 0, type: 'dir'}},
      {content: Buffer.from('one'), header: {mode: 0o644, mtimeSeconds: 1, name: 'folder/one', size: 3, type: 'file'}},
      {content: Buffer.from('split!'), header: {mode: 0o644, mtimeSeconds: 1, name: split, size: 6, type: 'file'}},
      {content: Buffer.from('pax'), header: {mode: 0o644, mtimeSeconds: 1, name: pax, size: 3, type: 'file'}},
      {
        content: Buffer.alloc(0),
        header: {linkTarget: target, mode: 0o777, mtimeSeconds: 1, name: 'sym', size: 0, type: 'symlink'},
      },
      {content: Buffer.alloc(0), header: {mode: 0o644, mtimeSeconds: 1, name: 'empty', size: 0, type: 'file'}},
    ]
    const parts: Buffer[] = []
    for (const {header, content} of items) parts.push(...tarHeader(header), content, padding(content.length))
    parts.push(END_OF_ARCHIVE)
    const archive = join(root, 'node.tar')
    await writeFile(archive, Buffer.concat(parts))

    const entries = await readTarIndex(archive)
    expect(entries.map(({name, type, size, linkname}) => ({linkname, name, size, type}))).to.deep.equal([
      {linkname: '', name: 'folder/', size: 0, type: '5'},
      {linkname: '', name: 'folder/one', size: 3, type: '0'},
      {linkname: '', name: split, size: 6, type: '0'},
      {linkname: '', name: pax, size: 3, type: '0'},
      {linkname: target, name: 'sym', size: 0, type: '2'},
      {linkname: '', name: 'empty', size: 0, type: '0'},
    ])
    for (const [i, entry] of entries.entries())
      expect(await slice(archive, entry.offset, entry.size)).to.deep.equal(items[i]!.content)

    // GNU tar agrees on what the archive holds.
    const listed = await execa('tar', ['-tf', archive], {env: {LC_ALL: 'C.UTF-8'}})
    expect(listed.stdout.split('\n')).to.deep.equal(['folder/', 'folder/one', split, pax, 'sym', 'empty'])
  })

  it('reads an empty archive (two zero blocks) as no entries', async () => {
    const archive = join(root, 'empty.tar')
    await writeFile(archive, END_OF_ARCHIVE)
    expect(await readTarIndex(archive)).to.deep.equal([])
  })

  it('reads a base-256 size field', async () => {
    const content = Buffer.from('x'.repeat(700))
    const archive = join(root, 'base256.tar')
    await writeFile(
      archive,
      Buffer.concat([handMadeHeader('b256.bin', base256(700)), content, padding(700), END_OF_ARCHIVE]),
    )
    const [entry, ...rest] = await readTarIndex(archive)
    expect(rest).to.deep.equal([])
    expect(entry).to.deep.equal({linkname: '', name: 'b256.bin', offset: 512, size: 700, type: '0'})
    expect(await slice(archive, entry!.offset, entry!.size)).to.deep.equal(content)
    // GNU tar reads the same header the same way.
    const listed = await execa('tar', ['-tvf', archive])
    expect(listed.stdout).to.match(/ 700 .*b256\.bin$/)
  })

  it('reads a base-256 size of more than 8 GiB (a sparse file)', async () => {
    const size = 9 * 1024 ** 3 + 5
    const archive = join(root, 'big.tar')
    const head = handMadeHeader('big.bin', base256(size))
    await writeFile(archive, head)
    // Content of zeros, its padding and the end-of-archive blocks: a hole, no disk used.
    await truncate(archive, 512 + size + padding(size).length + 1024)
    const [entry, ...rest] = await readTarIndex(archive)
    expect(rest).to.deep.equal([])
    expect(entry).to.deep.equal({linkname: '', name: 'big.bin', offset: 512, size, type: '0'})
  })

  it('throws an Error naming the file for a file that is not a tar archive', async () => {
    const notTar = join(root, 'not-a-tar.txt')
    await writeFile(notTar, 'this is a text file, not a tar archive\n'.repeat(40))
    const error = await readTarIndex(notTar).then(
      () => undefined,
      (error_: unknown) => error_,
    )
    expect(error).to.be.instanceOf(Error)
    expect((error as Error).message).to.include(notTar)

    const tiny = join(root, 'tiny.txt')
    await writeFile(tiny, 'short')
    const tinyError = await readTarIndex(tiny).then(
      () => undefined,
      (error_: unknown) => error_,
    )
    expect(tinyError).to.be.instanceOf(Error)
    expect((tinyError as Error).message).to.include(tiny)
  })

  it('throws an Error naming the file for a truncated archive: inside content, inside a header, before the end blocks', async () => {
    await writeFile(join(src, 'big.bin'), Buffer.alloc(5000, 7))
    await writeFile(join(src, 'small.txt'), 'small\n')
    const archive = join(root, 'full.tar')
    await gnuTar(['-C', src, '--format=gnu', '--sort=name', '-cf', archive, 'big.bin', 'small.txt'])
    const full = await readFile(archive)
    const entries = await readTarIndex(archive)
    const small = entries.find((entry) => entry.name === 'small.txt')!
    const cuts = {
      'before the end-of-archive blocks': small.offset + 512,
      'inside a header': small.offset - 200,
      'inside content': 512 + 2000,
    }
    for (const [where, length] of Object.entries(cuts)) {
      const cut = join(root, `cut-${length}.tar`)
      await writeFile(cut, full.subarray(0, length))
      const error = await readTarIndex(cut).then(
        () => undefined,
        (error_: unknown) => error_,
      )
      expect(error, where).to.be.instanceOf(Error)
      expect((error as Error).message, where).to.include(cut)
    }
  })
})
