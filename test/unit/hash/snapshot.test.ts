import {expect} from 'chai'
import {execa} from 'execa'
import {randomInt} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {
  appendFile,
  chmod,
  lutimes,
  mkdir,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {setTimeout} from 'node:timers/promises'

import {tarContext} from '../../../src/context/tar.js'
import {hashBuildContext, type HashOptions, type HashResult} from '../../../src/hash/index.js'
import {cacheDir} from '../../../src/hash/cache-file.js'
import {folderTimesTrusted} from '../../../src/hash/folder-times.js'
import {readSnapshot} from '../../../src/hash/snapshot.js'
import {snapshotFiles, snapshotFolder} from '../../../src/hash/snapshot-store.js'
import {createLogger} from '../../../src/output/logger.js'
import {isCI} from '../../support/docker.js'
import {makeTree, projectConfig, tempFolder} from '../../support/tree.js'

const LONG_AGO = new Date('2020-01-01T00:00:00Z')

/**
 * Old mtimes on everything, the root too, then a wait for the ctimes this moves to leave the snapshot's
 * racy window (0.1 s), so that the snapshot vouches for all of it.
 */
async function age(dir: string): Promise<void> {
  for (const name of await readdir(dir, {recursive: true})) await lutimes(join(dir, name), LONG_AGO, LONG_AGO)
  await utimes(dir, LONG_AGO, LONG_AGO)
  await setTimeout(150)
}

const TREE = {
  '.dockerignore': 'logs\n!logs/keep.log\nsecret.txt\n',
  Dockerfile: 'FROM scratch\n',
  'a/one.txt': 'one',
  'a/deep/two.txt': 'two',
  'b/three.txt': 'three',
  empty: {dir: true},
  link: {link: 'a'},
  'logs/keep.log': 'kept',
  'logs/drop.log': 'dropped',
  'secret.txt': 'excluded',
} as const

/** The build context tar a builder would receive for this result. */
async function tarBytes(result: HashResult): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of tarContext(result.root, result.entries)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('tree snapshot', () => {
  let dir: string
  let env: NodeJS.ProcessEnv
  let debug: string[]
  const cleanups: Array<() => Promise<void>> = []
  beforeEach(async () => {
    const project = await tempFolder('snapshot-project')
    const cacheHome = await tempFolder('snapshot-cache')
    cleanups.push(project.remove, cacheHome.remove)
    dir = project.dir
    env = {KUDEV_CACHE_DIR: cacheHome.dir}
    await makeTree(dir, TREE)
    await age(dir)
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  const run = (options: Partial<HashOptions> = {}, project = projectConfig(dir)): Promise<HashResult> => {
    debug = []
    const logger = createLogger('debug', {write: (line: string) => debug.push(line) > 0})
    return hashBuildContext(project, {env, logger, ...options})
  }

  /** The context's snapshot file: there must be exactly one. */
  function snapshotFile(): string {
    const files = snapshotFiles(dir, env)
    expect(files).to.have.length(1)
    return files[0]!
  }

  /** The digest and entries must be what a run without any cache finds. */
  async function expectTruth(result: HashResult): Promise<void> {
    const truth = await run({noCache: true})
    expect(result.digest).to.equal(truth.digest)
    const view = (r: HashResult) =>
      r.entries.map(({linkTarget, mode, mtimeNs, path, size, type}) => ({linkTarget, mode, mtimeNs, path, size, type}))
    expect(view(result)).to.deep.equal(view(truth))
  }

  describe('where folder times are trusted (local Linux filesystems)', function () {
    before(function () {
      // These machines and CI keep temp folders on ext4 or tmpfs; elsewhere (macOS) the snapshot is a stat cache only.
      if (folderTimesTrusted(tmpdir()) === true) return
      if (isCI())
        throw new Error(`folder times are not trusted in ${tmpdir()}: ${String(folderTimesTrusted(tmpdir()))}`)
      this.skip()
    })

    it("keeps a snapshot per set of ignore rules: configs sharing a context do not undo each other's", async () => {
      // A monorepo's services built from one context, each Dockerfile with its own ignore file (BuildKit).
      await makeTree(dir, {
        'api.Dockerfile': 'FROM scratch\n',
        'api.Dockerfile.dockerignore': 'b\n',
        'web.Dockerfile': 'FROM scratch\n',
        'web.Dockerfile.dockerignore': 'a\n',
      })
      await age(dir)
      const api = projectConfig(dir, {}, {dockerfile: join(dir, 'api.Dockerfile')})
      const web = projectConfig(dir, {}, {dockerfile: join(dir, 'web.Dockerfile')})
      const apiCold = await run({}, api)
      expect(apiCold.entries.map((entry) => entry.path))
        .to.include('a/one.txt')
        .and.not.include('b/three.txt')
      // A first run under new rules takes the contents it can from the other rules' snapshot: only b/three.txt is new to it.
      const webFirst = await run({}, web)
      expect(debug.join('')).to.match(/none yet; walking the context, contents vouched for by stat from /)
      expect(webFirst.stats.hashedFiles).to.equal(1)
      expect(webFirst.entries.map((entry) => entry.path))
        .to.include('b/three.txt')
        .and.not.include('a/one.txt')
      for (const [project, first] of [
        [api, apiCold],
        [web, webFirst],
        [api, apiCold],
      ] as const) {
        const warm = await run({}, project)
        expect(debug.join('')).not.to.match(/snapshot/)
        expect(warm.stats).to.include({hashedFiles: 0})
        expect(warm.digest).to.equal(first.digest)
        expect(warm.digest).to.equal((await run({noCache: true}, project)).digest)
      }

      expect(snapshotFiles(dir, env)).to.have.length(2)
    })

    it('vouches for an unchanged tree: no folder listed, no file read, the same digest and entries', async () => {
      const cold = await run()
      expect(readSnapshot(snapshotFile())).to.be.instanceOf(Object).and.not.have.property('problem')
      const warm = await run()
      expect(debug.join('')).not.to.match(/snapshot/)
      expect(warm.stats).to.include({
        cachedFiles: cold.stats.files,
        entries: cold.stats.entries,
        files: cold.stats.files,
        hashedFiles: 0,
      })
      expect(warm.digest).to.equal(cold.digest)
      expect(warm.entries.map((entry) => entry.path)).to.deep.equal(cold.entries.map((entry) => entry.path))
      await expectTruth(warm)
    })

    it('keeps names with spaces, unicode and newlines', async () => {
      await makeTree(dir, {'ünï côde/new\nline.txt': 'x', 'ünï côde/with space': {link: '../a'}, '日本/語.txt': 'y'})
      await age(dir)
      await run()
      const warm = await run()
      expect(warm.stats.hashedFiles).to.equal(0)
      expect(warm.entries.map((entry) => entry.path)).to.include.members([
        'ünï côde/new\nline.txt',
        'ünï côde/with space',
        '日本/語.txt',
      ])
      await expectTruth(warm)
      await writeFile(join(dir, 'ünï côde/new\nline.txt'), 'changed')
      await expectTruth(await run())
    })

    it('gives a build the same tar from an unchanged tree as a walk does', async () => {
      await run()
      const warm = await run()
      expect(warm.stats.hashedFiles).to.equal(0)
      const truth = await run({noCache: true})
      expect(await tarBytes(warm)).to.deep.equal(await tarBytes(truth))
    })

    const changes: Array<[string, () => Promise<void>]> = [
      [
        'new content, same size, restored mtime',
        async () => {
          await writeFile(join(dir, 'a/deep/two.txt'), 'TWO')
          await utimes(join(dir, 'a/deep/two.txt'), LONG_AGO, LONG_AGO)
        },
      ],
      ['a file appended to', () => appendFile(join(dir, 'b/three.txt'), '!')],
      ['a new file deep down', () => writeFile(join(dir, 'a/deep/new.txt'), 'new')],
      ['a file deleted', () => unlink(join(dir, 'a/one.txt'))],
      ['a file renamed', () => rename(join(dir, 'a/one.txt'), join(dir, 'a/uno.txt'))],
      ['chmod +x on a file', () => chmod(join(dir, 'b/three.txt'), 0o755)],
      ['chmod on a folder', () => chmod(join(dir, 'a/deep'), 0o700)],
      ['a new empty folder', () => mkdir(join(dir, 'b/new'))],
      ['a folder removed', () => rm(join(dir, 'empty'), {recursive: true})],
      [
        'a folder replaced by a file',
        async () => {
          await rm(join(dir, 'a/deep'), {recursive: true})
          await writeFile(join(dir, 'a/deep'), 'a file now')
        },
      ],
      [
        'a folder swapped for a new one with the same content',
        async () => {
          await rename(join(dir, 'b'), join(dir, 'b-old'))
          await mkdir(join(dir, 'b'))
          await writeFile(join(dir, 'b/three.txt'), 'three')
        },
      ],
      [
        'a symlink retargeted',
        async () => {
          await unlink(join(dir, 'link'))
          await symlink('b', join(dir, 'link'))
        },
      ],
      [
        'a file replaced by a symlink',
        async () => {
          await unlink(join(dir, 'b/three.txt'))
          await symlink('one', join(dir, 'b/three.txt'))
        },
      ],
      ['a file re-included below an excluded folder', () => writeFile(join(dir, 'logs/keep.log'), 'kept, changed')],
      ['an excluded file changed (nothing moves)', () => writeFile(join(dir, 'secret.txt'), 'other secret')],
      ['the ignore file changed', () => writeFile(join(dir, '.dockerignore'), 'logs\n')],
    ]
    for (const [what, change] of changes) {
      it(`sees ${what}, and agrees with a run without caches`, async () => {
        await run()
        await change()
        const result = await run()
        await expectTruth(result)
        // The next run vouches for the new tree (once its times are old enough).
        await age(dir)
        await run()
        expect((await run()).stats.hashedFiles).to.equal(0)
      })
    }

    it('lists again only the folders that moved, and reads only the files that did', async () => {
      await run()
      await writeFile(join(dir, 'a/deep/new.txt'), 'new')
      await appendFile(join(dir, 'b/three.txt'), '!')
      const result = await run()
      // The new file is no recorded entry: its folder moved.
      expect(debug.join('')).to.match(/tree snapshot: 1 folders and 1 entries moved/)
      expect(result.stats.hashedFiles).to.equal(2)
      await expectTruth(result)
    })

    it('keeps the subtrees a run did not visit, so the next run sees what moves in them', async () => {
      await run()
      await appendFile(join(dir, 'a/one.txt'), '!')
      // Visits the root and a/; b/ and its subtree are copied from the last snapshot.
      expect((await run()).stats.hashedFiles).to.equal(1)
      await rm(join(dir, 'b/three.txt'))
      const result = await run()
      // b/ moved, and a/one.txt is checked again (it was racy when recorded).
      expect(debug.join('')).to.match(/tree snapshot: 1 folders and 2 entries moved/)
      await expectTruth(result)
    })

    it('agrees with a run without caches through random changes, racy times included', async () => {
      const names = ['a', 'b', 'a/deep', 'c', 'c/d']
      for (let round = 0; round < 25; round++) {
        const folder = names[randomInt(names.length)]!
        const file = join(dir, folder, `f${randomInt(4)}.txt`)
        const action = randomInt(5)
        await mkdir(join(dir, folder), {recursive: true})
        if (action === 0) await writeFile(file, `round ${round}`)
        else if (action === 1) await rm(file, {force: true})
        else if (action === 2) await chmod(join(dir, folder), [0o755, 0o700][randomInt(2)]!)
        else if (action === 3) await rm(join(dir, folder), {force: true, recursive: true})
        else await writeFile(file, 'same size')
        if (round % 3 === 0) await age(dir)
        await expectTruth(await run())
      }
    })

    it('lists a folder holding a FIFO on every run, so its warning shows every time', async () => {
      await execa('mkfifo', [join(dir, 'b/pipe')])
      await age(dir)
      for (let round = 0; round < 3; round++) {
        await run()
        expect(debug.join('')).to.include(
          'Warning: skipped b/pipe in the build context: a FIFO (named pipe), which Docker does not copy',
        )
      }

      expect(debug.join('')).to.match(/tree snapshot: 1 folders and 0 entries moved/)
    })

    it('is ignored when damaged, and rewritten', async () => {
      const cold = await run()
      const file = snapshotFile()
      const bytes = readFileSync(file)
      bytes[bytes.length - 5]! ^= 0xff
      writeFileSync(file, bytes)
      const result = await run()
      expect(debug.join('')).to.match(/tree snapshot .*: checksum mismatch; walking the context/)
      expect(result.digest).to.equal(cold.digest)
      expect(readSnapshot(file)).not.to.have.property('problem')
    })

    it('is neither read nor written with noCache, and not written by --explain', async () => {
      await run({noCache: true})
      await run({explain: true})
      expect(snapshotFiles(dir, env)).to.deep.equal([])
    })
  })

  describe('where folder times are not trusted (KUDEV_TRUST_FOLDER_TIMES=0): a stat cache', () => {
    const untrusted = (options: Partial<HashOptions> = {}, project = projectConfig(dir)) =>
      run({env: {...env, KUDEV_TRUST_FOLDER_TIMES: '0'}, ...options}, project)

    it('keeps the 4 most recently written snapshots of a context, one per set of ignore rules', async () => {
      const exclusions = [[], ['a/'], ['b/'], ['empty'], ['link']]
      for (const excluded of exclusions) await untrusted({}, projectConfig(dir, {buildContextExclusions: excluded}))
      expect(snapshotFiles(dir, env)).to.have.length(4)
      // The newest rule sets kept theirs: their runs read nothing and write nothing.
      const newest = snapshotFiles(dir, env)[0]!
      const written = (await stat(newest)).mtimeMs
      const again = await untrusted({}, projectConfig(dir, {buildContextExclusions: ['link']}))
      expect(again.stats.hashedFiles).to.equal(0)
      expect((await stat(newest)).mtimeMs).to.equal(written)
      expect(snapshotFiles(dir, env)).to.have.length(4)
    })

    it('lives in KUDEV_CACHE_DIR, else XDG_CACHE_HOME/kudev, else ~/.cache/kudev, one folder per context', () => {
      expect(cacheDir({HOME: '/home/u', KUDEV_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x'})).to.equal('/c')
      expect(cacheDir({HOME: '/home/u', XDG_CACHE_HOME: '/x'})).to.equal('/x/kudev')
      expect(cacheDir({HOME: '/home/u', XDG_CACHE_HOME: 'relative/ignored'})).to.equal('/home/u/.cache/kudev')
      expect(snapshotFolder('/p/one', {KUDEV_CACHE_DIR: '/c'})).to.match(/^\/c\/tree\/[0-9a-f]{32}$/)
      expect(snapshotFolder('/p/one', env)).not.to.equal(snapshotFolder('/p/two', env))
      expect(snapshotFolder('/p/one', env)).to.equal(snapshotFolder('/p/one/', env))
    })

    it('walks every folder but reads no file of an unchanged tree, and does not rewrite the snapshot', async () => {
      const cold = await untrusted()
      expect(cold.stats).to.include({cachedFiles: 0, hashedFiles: 6})
      const written = await stat(snapshotFile())
      const warm = await untrusted()
      expect(debug.join('')).to.include(
        'tree snapshot: folder times were not trusted when it was written; walking the context',
      )
      expect(warm.stats).to.include({cachedFiles: 6, hashedFiles: 0})
      expect(warm.digest).to.equal(cold.digest)
      expect((await stat(snapshotFile())).mtimeMs).to.equal(written.mtimeMs)
    })

    it('reads again exactly the files whose stat changed, new content with the same size and a restored mtime included', async () => {
      await untrusted()
      await writeFile(join(dir, 'a/one.txt'), 'ONE')
      await writeFile(join(dir, 'b/three.txt'), 'THREE')
      await utimes(join(dir, 'b/three.txt'), LONG_AGO, LONG_AGO)
      const result = await untrusted()
      expect(result.stats).to.include({cachedFiles: 4, hashedFiles: 2})
      await expectTruth(result)
    })

    it("does not vouch for a file modified within two seconds of the walk (git's racy rule)", async () => {
      await writeFile(join(dir, 'b/three.txt'), 'fresh')
      await untrusted()
      expect((await untrusted()).stats).to.include({cachedFiles: 5, hashedFiles: 1})
    })

    it('stops vouching for recorded listings as soon as KUDEV_TRUST_FOLDER_TIMES=0', async () => {
      await run()
      expect((await untrusted()).stats.hashedFiles).to.equal(0)
      expect(debug.join('')).to.include('tree snapshot: KUDEV_TRUST_FOLDER_TIMES=0; walking the context')
    })

    it('does not trust listings recorded where folder times were not trusted, once they are: it writes a snapshot that does', async () => {
      await untrusted()
      await run()
      expect(debug.join('')).to.include('tree snapshot: folder times were not trusted when it was written')
      await run()
      expect(debug.join('')).not.to.include('walking the context')
    })

    for (const [damage, spoil] of [
      [
        'corrupt',
        (bytes: Buffer) => {
          bytes[bytes.length - 40]! ^= 0xff
          return bytes
        },
      ],
      ['truncated', (bytes: Buffer) => bytes.subarray(0, bytes.length - 10)],
      [
        'of another version',
        (bytes: Buffer) => {
          bytes.writeUInt32LE(99, 8)
          return bytes
        },
      ],
      ['not a snapshot at all', () => Buffer.from('{"hello": "world"}')],
      ['empty', () => Buffer.alloc(0)],
    ] as const) {
      it(`ignores and rewrites a snapshot that is ${damage}`, async () => {
        const cold = await untrusted()
        const file = snapshotFile()
        writeFileSync(file, spoil(readFileSync(file)))
        expect(readSnapshot(file)).to.have.property('problem')
        const rebuilt = await untrusted()
        expect(rebuilt.stats).to.include({cachedFiles: 0, hashedFiles: 6})
        expect(rebuilt.digest).to.equal(cold.digest)
        expect(readSnapshot(file)).not.to.have.property('problem')
        expect((await untrusted()).stats.hashedFiles).to.equal(0)
      })
    }

    it('with noCache reads every file and neither reads nor writes the snapshot', async () => {
      await untrusted({noCache: true})
      expect(snapshotFiles(dir, env)).to.deep.equal([])
      await untrusted()
      await truncate(snapshotFile(), 0)
      const uncached = await untrusted({noCache: true})
      expect(uncached.stats).to.include({cachedFiles: 0, hashedFiles: 6})
      expect((await stat(snapshotFile())).size).to.equal(0)
    })

    it('removes the snapshot earlier kudevs kept at <cache>/tree/<context>.bin when it writes one', async () => {
      const formerFile = `${snapshotFolder(dir, env)}.bin`
      await mkdir(dirname(formerFile), {recursive: true})
      await writeFile(formerFile, 'a snapshot of an earlier kudev')
      await untrusted({noCache: true})
      expect(existsSync(formerFile), 'noCache writes no snapshot, so it removes nothing').to.equal(true)
      await untrusted()
      expect(snapshotFiles(dir, env)).to.have.length(1)
      expect(existsSync(formerFile)).to.equal(false)
    })

    it('survives a cache folder it cannot create: hashing works, only speed is lost', async () => {
      const result = await run({env: {KUDEV_CACHE_DIR: join(dir, 'Dockerfile', 'not-a-folder')}})
      expect(result.stats.hashedFiles).to.equal(6)
      expect(debug.join('')).to.match(/could not write the tree snapshot/)
    })

    it('gives up on a cache folder that cannot be created where its parent exists (/proc)', async function () {
      // Node 20's mkdirSync({recursive: true}) loops forever there.
      if (process.platform !== 'linux') this.skip()
      expect((await run({env: {KUDEV_CACHE_DIR: '/proc/kudev-cache-test'}})).stats.hashedFiles).to.equal(6)
    })
  })

  describe("from a file watcher's paths (watch mode)", () => {
    /** Hashes with the watcher's paths since `since`'s snapshot, then checks against a run without any cache. */
    async function fromPaths(since: HashResult, paths: string[]): Promise<HashResult> {
      const result = await run({changes: {paths: new Set(paths), since: since.snapshot!}})
      expect(debug.join('')).to.not.include('checking every recorded path')
      await expectTruth(result)
      return result
    }

    it('reads only the file that changed, and leaves a snapshot the next cycle can count from', async () => {
      const first = await run()
      expect(first.snapshot).to.be.a('number')
      await writeFile(join(dir, 'a/one.txt'), 'one, edited')
      const second = await fromPaths(first, ['a/one.txt'])
      expect(second.stats.hashedFiles).to.equal(1)
      expect(second.digest).to.not.equal(first.digest)
      expect(second.snapshot).to.not.equal(first.snapshot)
      await writeFile(join(dir, 'b/three.txt'), 'three, edited')
      expect((await fromPaths(second, ['b/three.txt'])).stats.hashedFiles).to.equal(1)
    })

    it('finds a new folder from any path below it, and a removed or renamed one', async () => {
      const first = await run()
      await makeTree(dir, {'c/d/new.txt': 'new', 'c/top.txt': 'top'})
      // A watcher may report only the deepest paths: the nearest recorded folder is listed again.
      const added = await fromPaths(first, ['c/d/new.txt'])
      expect(added.entries.map((entry) => entry.path)).to.include.members(['c/d/new.txt', 'c/top.txt'])
      await rm(join(dir, 'a'), {recursive: true})
      const removed = await fromPaths(added, ['a', 'a/one.txt', 'a/deep', 'a/deep/two.txt'])
      await rename(join(dir, 'b'), join(dir, 'renamed'))
      await fromPaths(removed, ['b', 'renamed'])
    })

    it('says nothing moved when the reported paths are as recorded (an edit undone), reading nothing', async () => {
      const first = await run()
      const same = await fromPaths(first, ['a/one.txt', 'b', ''])
      expect(same.stats.hashedFiles).to.equal(0)
      expect([same.digest, same.snapshot]).to.deep.equal([first.digest, first.snapshot])
    })

    it('checks every path when the snapshot on disk is not the one the changes count from', async () => {
      const first = await run()
      await writeFile(join(dir, 'b/three.txt'), 'three, edited unseen')
      const result = await run({changes: {paths: new Set(['a/one.txt']), since: first.snapshot! + 1}})
      expect(debug.join('')).to.include('tree snapshot: not the one the last cycle left; checking every recorded path')
      await expectTruth(result)
    })
  })
})
