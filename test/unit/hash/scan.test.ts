import {expect} from 'chai'
import {rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {loadContextFilter} from '../../../src/context/filter.js'
import type {FolderTask} from '../../../src/context/walk.js'
import {HashPool} from '../../../src/hash/files.js'
import {type HashedListing, Scanner} from '../../../src/hash/scan.js'
import {makeTree, tempFolder} from '../../support/tree.js'

describe('files that change between the walk and their reading', () => {
  let dir: string
  let remove: () => Promise<void>
  beforeEach(async () => {
    ;({dir, remove} = await tempFolder('scan'))
    await makeTree(dir, {'.dockerignore': '', 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c'})
  })
  afterEach(async () => remove())

  async function walkThen(change: () => Promise<unknown>): Promise<HashedListing> {
    const filter = await loadContextFilter({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), exclusions: []})
    const scanner = new Scanner(filter, undefined, {root: dir})
    const pool = new HashPool(dir, {onHashed: scanner.hashed, workers: 0})
    const out: HashedListing[] = []
    const stack: FolderTask[] = [{path: ''}]
    scanner.run(stack, {entries: 100}, out, pool)
    await change()
    await pool.drain()
    scanner.settle()
    return out[0]!
  }

  it('leaves out a file deleted before it was read', async () => {
    const listing = await walkThen(() => rm(join(dir, 'b.txt')))
    expect(listing.entries.map((entry) => entry.path)).to.deep.equal(['.dockerignore', 'a.txt', 'c.txt'])
    expect(listing.conditional).to.have.length(3)
    expect(Buffer.from(listing.hashes.subarray(64, 96)).toString('hex')).to.equal(
      '2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6',
    )
  })

  it('keeps the stat that goes with the content read', async () => {
    const listing = await walkThen(() => writeFile(join(dir, 'b.txt'), 'longer'))
    const entry = listing.entries.find((item) => item.path === 'b.txt')
    expect(entry?.size).to.equal(6)
  })
})
