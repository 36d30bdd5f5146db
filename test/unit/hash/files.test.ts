import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {FileHasher} from '../../../src/hash/files.js'
import {isKudevError} from '../../../src/output/errors.js'
import {tempFolder} from '../../support/tree.js'

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex')

describe('file hashing', () => {
  let dir: string
  let remove: () => Promise<void>
  beforeEach(async () => ({dir, remove} = await tempFolder('files')))
  afterEach(async () => remove())

  it('streams a file bigger than its buffer and gives its sha256 and stat', () => {
    const content = Buffer.alloc(3 * (1 << 20) + 17, 'k')
    writeFileSync(join(dir, 'big'), content)
    const hashed = new FileHasher().hash('big', join(dir, 'big'))
    expect(hashed?.sha256.toString('hex')).to.equal(sha256(content))
    expect(hashed?.stats.size).to.equal(BigInt(content.length))
  })

  it('reads a file again when it changes while being read, so the hash is of one version', () => {
    const file = join(dir, 'growing')
    writeFileSync(file, Buffer.alloc(2 * (1 << 20), 'a'))
    const hasher = new FileHasher()
    let chunks = 0
    hasher.onBytes = () => {
      if (chunks++ === 0) appendFileSync(file, 'more')
    }

    const hashed = hasher.hash('growing', file)
    expect(hashed?.sha256.toString('hex')).to.equal(sha256(readFileSync(file)))
    expect(chunks).to.be.greaterThan(2)
  })

  it('reads again when the file no longer matches the stat the walk listed', () => {
    const file = join(dir, 'edited')
    writeFileSync(file, 'new content')
    const listed = {mtimeNs: 1n, size: 3}
    const hashed = new FileHasher().hash('edited', file, listed)
    expect(hashed?.sha256.toString('hex')).to.equal(sha256('new content'))
    expect(hashed?.stats.size).to.equal(11n)
  })

  it('hashes an empty file', () => {
    writeFileSync(join(dir, 'empty'), '')
    expect(new FileHasher().hash('empty', join(dir, 'empty'))?.sha256.toString('hex')).to.equal(sha256(''))
  })

  it('gives up with an error naming a file that never stops changing', () => {
    const file = join(dir, 'busy.log')
    writeFileSync(file, 'x')
    const hasher = new FileHasher()
    hasher.onBytes = () => appendFileSync(file, 'x')
    let thrown: unknown
    try {
      hasher.hash('busy.log', file)
    } catch (error) {
      thrown = error
    }

    expect(isKudevError(thrown) && thrown.message).to.equal(`${file} kept changing while kudev read it (5 tries)`)
  })

  it('says a file deleted since it was listed is gone', () => {
    writeFileSync(join(dir, 'gone'), 'x')
    rmSync(join(dir, 'gone'))
    expect(new FileHasher().hash('gone', join(dir, 'gone'))).to.equal(undefined)
  })

  it('refuses a file swapped for a symlink instead of hashing the link target', () => {
    writeFileSync(join(dir, 'target'), 'secret')
    symlinkSync('target', join(dir, 'swapped'))
    expect(() => new FileHasher().hash('swapped', join(dir, 'swapped'))).to.throw(/was replaced while kudev read it/)
  })
})
