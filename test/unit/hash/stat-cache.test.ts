import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {lutimes, readdir, rm, stat, truncate, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {Entry} from '../../../src/context/entries.js'
import {hashBuildContext, type HashOptions, type HashResult} from '../../../src/hash/index.js'
import {snapshotFile} from '../../../src/hash/snapshot.js'
import {cacheDir, readStatCache, StatCache, StatCacheWriter, statCacheFile} from '../../../src/hash/stat-cache.js'
import {createLogger} from '../../../src/output/logger.js'
import {makeTree, projectConfig, tempFolder} from '../../support/tree.js'

const LONG_AGO = new Date('2020-01-01T00:00:00Z')

/** Old mtimes: outside the racy window, so the cache records every file. */
async function age(dir: string): Promise<void> {
  for (const name of await readdir(dir, {recursive: true})) await lutimes(join(dir, name), LONG_AGO, LONG_AGO)
}

describe('stat cache', () => {
  let dir: string
  let cache: string
  let env: NodeJS.ProcessEnv
  const cleanups: Array<() => Promise<void>> = []
  beforeEach(async () => {
    const project = await tempFolder('cache-project')
    const cacheHome = await tempFolder('cache-home')
    cleanups.push(project.remove, cacheHome.remove)
    dir = project.dir
    env = {KUDEV_CACHE_DIR: cacheHome.dir}
    cache = statCacheFile(dir, env)
    await makeTree(dir, {'.dockerignore': '', 'Dockerfile': 'FROM scratch\n', 'a/one.txt': 'one', 'a/two.txt': 'two', 'b/three.txt': 'three', 'link': {link: 'a'}})
    await age(dir)
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  // The stat cache serves runs without a tree snapshot (other filesystems, or none written yet): each run
  // here starts without one, so the stat cache alone vouches for contents.
  const run = async (options: Partial<HashOptions> = {}): Promise<HashResult> => {
    await rm(snapshotFile(dir, options.env ?? env), {force: true}).catch(() => undefined)
    return hashBuildContext(projectConfig(dir), {env, logger: createLogger('error', {write: () => true}), ...options})
  }

  it('lives in KUDEV_CACHE_DIR, else XDG_CACHE_HOME/kudev, else ~/.cache/kudev', () => {
    expect(cacheDir({HOME: '/home/u', KUDEV_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x'})).to.equal('/c')
    expect(cacheDir({HOME: '/home/u', XDG_CACHE_HOME: '/x'})).to.equal('/x/kudev')
    expect(cacheDir({HOME: '/home/u', XDG_CACHE_HOME: 'relative/ignored'})).to.equal('/home/u/.cache/kudev')
    expect(statCacheFile('/p/one', env)).not.to.equal(statCacheFile('/p/two', env))
    expect(statCacheFile('/p/one', env)).to.equal(statCacheFile('/p/one/', env))
  })

  it('makes a second run over an unchanged tree read no file at all, and not rewrite the cache', async () => {
    const cold = await run()
    expect(cold.stats).to.include({cachedFiles: 0, hashedFiles: 5})
    const written = await stat(cache)
    const warm = await run()
    expect(warm.stats).to.include({cachedFiles: 5, hashedFiles: 0})
    expect(warm.digest).to.equal(cold.digest)
    expect((await stat(cache)).mtimeMs).to.equal(written.mtimeMs)
  })

  it('reads again exactly the files whose stat changed', async () => {
    await run()
    await writeFile(join(dir, 'a/one.txt'), 'ONE')
    const result = await run()
    expect(result.stats).to.include({cachedFiles: 4, hashedFiles: 1})
  })

  it('notices new content with the same size and a restored mtime (ctime moves)', async () => {
    const before = await run()
    await writeFile(join(dir, 'a/one.txt'), 'uno')
    await utimes(join(dir, 'a/one.txt'), LONG_AGO, LONG_AGO)
    const after = await run()
    expect(after.stats.hashedFiles).to.equal(1)
    expect(after.digest).not.to.equal(before.digest)
  })

  it('does not trust a file modified just before the walk (git\'s racy rule): it is read again next time', async () => {
    await writeFile(join(dir, 'b/three.txt'), 'fresh')
    await run()
    const second = await run()
    expect(second.stats).to.include({cachedFiles: 4, hashedFiles: 1})
  })

  for (const [damage, spoil] of [
    ['corrupt', (bytes: Buffer) => {
      bytes[bytes.length - 40]! ^= 0xFF
      return bytes
    }],
    ['truncated', (bytes: Buffer) => bytes.subarray(0, bytes.length - 10)],
    ['of another version', (bytes: Buffer) => {
      bytes.writeUInt32LE(99, 8)
      return bytes
    }],
    ['not a cache at all', () => Buffer.from('{"hello": "world"}')],
    ['empty', () => Buffer.alloc(0)],
  ] as const) {
    it(`ignores and rebuilds a cache that is ${damage}`, async () => {
      const cold = await run()
      writeFileSync(cache, spoil(readFileSync(cache)))
      expect(readStatCache(cache)).to.have.property('problem')
      const rebuilt = await run()
      expect(rebuilt.stats).to.include({cachedFiles: 0, hashedFiles: 5})
      expect(rebuilt.digest).to.equal(cold.digest)
      expect(readStatCache(cache)).to.have.property('bytes')
      expect((await run()).stats.hashedFiles).to.equal(0)
    })
  }

  it('with noCache reads every file and neither reads nor writes the cache', async () => {
    await run({noCache: true})
    expect(await stat(cache).catch(() => undefined)).to.equal(undefined)
    await run()
    await truncate(cache, 0)
    const uncached = await run({noCache: true})
    expect(uncached.stats).to.include({cachedFiles: 0, hashedFiles: 5})
    expect((await stat(cache)).size).to.equal(0)
  })

  it('survives a cache folder it cannot create: hashing works, only speed is lost', async () => {
    const result = await run({env: {KUDEV_CACHE_DIR: join(dir, 'Dockerfile', 'not-a-folder')}})
    expect(result.stats.hashedFiles).to.equal(5)
  })

  it('gives up on a cache folder that cannot be created where its parent exists (/proc)', async function () {
    // Node 20's mkdirSync({recursive: true}) loops forever there.
    if (process.platform !== 'linux') this.skip()
    expect((await run({env: {KUDEV_CACHE_DIR: '/proc/kudev-cache-test'}})).stats.hashedFiles).to.equal(5)
  })

  describe('format', () => {
    const entry = (size: number): Entry => ({ctimeNs: 2n, dev: 1n, ino: 3n, mode: 0o644, mtimeNs: 1_000_000_000n, path: 'd/f', size, type: 'file'})
    const hash = Buffer.alloc(32, 7)

    function roundTrip(): StatCache {
      const writer = new StatCacheWriter(BigInt(Date.now()) * 1_000_000n)
      writer.folder('')
      writer.folder('d')
      writer.record('f', entry(10), hash)
      writer.record('ünï code\nname', entry(11), hash)
      return new StatCache(writer.bytes())
    }

    it('gives back the hash only when size, mtime, ctime, inode and mode all match', () => {
      const cache = roundTrip()
      const records = cache.folder('d')!
      expect(cache.lookup(records, 'f', entry(10))).to.deep.equal(hash)
      expect(cache.lookup(records, 'ünï code\nname', entry(11))).to.deep.equal(hash)
      for (const changed of [{size: 11}, {mtimeNs: 1n}, {ctimeNs: 3n}, {ino: 4n}, {mode: 0o755}]) {
        expect(cache.lookup(records, 'f', {...entry(10), ...changed})).to.equal(undefined)
      }

      expect(cache.lookup(records, 'other', entry(10))).to.equal(undefined)
      expect(cache.folder('')?.size).to.equal(0)
      expect(cache.folder('missing')).to.equal(undefined)
    })

    it('does not record files modified within two seconds of the walk', () => {
      const walkStarted = 10_000_000_000n
      const writer = new StatCacheWriter(walkStarted)
      writer.folder('')
      writer.record('old', {...entry(1), mtimeNs: walkStarted - 2_000_000_001n}, hash)
      writer.record('racy', {...entry(1), mtimeNs: walkStarted - 1_000_000_000n}, hash)
      writer.record('future', {...entry(1), mtimeNs: walkStarted + 1n}, hash)
      expect([...new StatCache(writer.bytes()).folder('')!.keys()]).to.deep.equal(['old'])
    })
  })
})
