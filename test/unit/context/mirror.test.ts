import {expect} from 'chai'
import {existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readdir, rename, rm, symlink, unlink, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {compareNames, type Entry, makeEntry} from '../../../src/context/entries.js'
import {type Mirror, mirrorFolder, syncMirror} from '../../../src/context/mirror.js'
import {hashBuildContext, type HashResult} from '../../../src/hash/index.js'
import {createLogger} from '../../../src/output/logger.js'
import {makeTree, projectConfig, tempFolder} from '../../support/tree.js'

/** Every path below `root`, a folder before what it holds, as the hash lists them. */
async function entriesOf(root: string, relative = ''): Promise<Entry[]> {
  const entries: Entry[] = []
  for (const name of (await readdir(join(root, relative))).sort(compareNames)) {
    const path = relative === '' ? name : `${relative}/${name}`
    const stats = lstatSync(join(root, path), {bigint: true})
    if (stats.isDirectory()) entries.push(makeEntry(path, 'dir', stats), ...(await entriesOf(root, path)))
    else if (stats.isSymbolicLink()) entries.push(makeEntry(path, 'symlink', stats, readlinkSync(join(root, path))))
    else entries.push(makeEntry(path, 'file', stats))
  }

  return entries
}

/** What a folder holds: type, permission bits and content or link target, by path. */
async function contents(root: string): Promise<Record<string, string>> {
  const held: Record<string, string> = {}
  for (const entry of await entriesOf(root)) {
    const file = join(root, entry.path)
    if (entry.type === 'dir') held[entry.path] = `dir ${entry.mode.toString(8)}`
    else if (entry.type === 'symlink') held[entry.path] = `-> ${entry.linkTarget}`
    else held[entry.path] = `file ${entry.mode.toString(8)} ${readFileSync(file, 'utf8')}`
  }

  return held
}

describe('the build context as a folder (mirror)', () => {
  let root: string
  let cache: string
  const env = () => ({KUDEV_CACHE_DIR: cache})
  const held: Mirror[] = []

  async function sync(): Promise<Mirror> {
    const all = await entriesOf(root)
    const mirror = syncMirror({
      contextDigest: 'not known',
      dockerfile: Buffer.from('FROM scratch\n'),
      entries: () => all,
      env: env(),
      root,
    })
    expect(mirror, 'the mirror was held').not.to.equal(undefined)
    held.push(mirror!)
    mirror!.release()
    return mirror!
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kudev-mirror-src-'))
    cache = await mkdtemp(join(tmpdir(), 'kudev-mirror-cache-'))
    await mkdir(join(root, 'src/deep'), {recursive: true})
    await writeFile(join(root, 'src/app.js'), 'app')
    await writeFile(join(root, 'src/deep/x.txt'), 'x')
    await writeFile(join(root, 'run.sh'), 'run')
    await chmod(join(root, 'run.sh'), 0o755)
    await symlink('src/app.js', join(root, 'link'))
  })

  afterEach(async () => {
    await rm(root, {force: true, recursive: true})
    await rm(cache, {force: true, recursive: true})
  })

  it('holds exactly the entries, files as hard links to the project files, with the Dockerfile outside it', async () => {
    const mirror = await sync()
    expect(mirror.root).to.equal(join(mirrorFolder(root, env()), 'files'))
    expect(await contents(mirror.root)).to.deep.equal(await contents(root))
    expect(statSync(join(mirror.root, 'src/app.js')).ino).to.equal(statSync(join(root, 'src/app.js')).ino)
    expect(mirror.linked).to.equal(6)
    expect(readFileSync(mirror.dockerfile, 'utf8')).to.equal('FROM scratch\n')
    // Beside the Dockerfile, an ignore file that excludes nothing: only a comment.
    const ignore = readFileSync(`${mirror.dockerfile}.dockerignore`, 'utf8')
    expect(ignore.split('\n').filter((line) => line !== '' && !line.startsWith('#'))).to.deep.equal([])
  })

  it('a second sync with nothing changed touches nothing', async () => {
    await sync()
    const again = await sync()
    expect([again.linked, again.removed]).to.deep.equal([0, 0])
  })

  it('follows every kind of change: a file saved as a new file, removed, a file become a folder, chmod, a new link target', async () => {
    await sync()
    await writeFile(join(root, 'src/app.js.tmp'), 'saved')
    await rename(join(root, 'src/app.js.tmp'), join(root, 'src/app.js'))
    await rm(join(root, 'src/deep'), {recursive: true})
    await unlink(join(root, 'run.sh'))
    await mkdir(join(root, 'run.sh'))
    await writeFile(join(root, 'run.sh/inside'), 'inside')
    await chmod(join(root, 'src'), 0o700)
    await mkdir(join(root, 'closed'))
    await writeFile(join(root, 'closed/kept.txt'), 'kept')
    await chmod(join(root, 'closed'), 0o555)
    await unlink(join(root, 'link'))
    await symlink('run.sh', join(root, 'link'))
    const mirror = await sync()
    expect(await contents(mirror.root)).to.deep.equal(await contents(root))
    expect(mirror.removed).to.equal(2)
    // A folder closed to its owner stays so in the mirror, and the next sync can still change what it holds.
    await chmod(join(root, 'closed'), 0o755)
    await writeFile(join(root, 'closed/new.txt'), 'new')
    await chmod(join(root, 'closed'), 0o555)
    expect(await contents((await sync()).root)).to.deep.equal(await contents(root))
    expect(statSync(join(mirror.root, 'src/app.js')).ino).to.equal(statSync(join(root, 'src/app.js')).ino)
  })

  it('starts over when a sync was cut short (no state): nothing stale stays', async () => {
    const mirror = await sync()
    writeFileSync(join(mirror.root, 'stray.txt'), 'left by a sync that did not finish')
    await rm(join(mirrorFolder(root, env()), 'state.json'))
    const again = await sync()
    expect(await contents(again.root)).to.deep.equal(await contents(root))
  })

  it('is not shared: a live kudev holding it gets undefined, a lock left by a dead process is taken over', async () => {
    await sync()
    const lock = join(mirrorFolder(root, env()), 'lock')
    writeFileSync(lock, String(process.ppid))
    const entries = await entriesOf(root)
    const options = {contextDigest: 'not known', dockerfile: Buffer.from(''), entries: () => entries, env: env(), root}
    expect(syncMirror(options)).to.equal(undefined)
    writeFileSync(lock, '2147483646')
    const taken = syncMirror(options)
    expect(taken).not.to.equal(undefined)
    expect(readFileSync(lock, 'utf8')).to.equal(String(process.pid))
    taken!.release()
    expect(existsSync(lock)).to.equal(false)
  })

  it('copies where it cannot link (the cache on another file system), and copies an edit in place again', async function () {
    const other = '/dev/shm'
    if (!existsSync(other) || statSync(other).dev === statSync(tmpdir()).dev) this.skip()
    cache = await mkdtemp(join(other, 'kudev-mirror-cache-'))
    const mirror = await sync()
    expect(await contents(mirror.root)).to.deep.equal(await contents(root))
    expect(statSync(join(mirror.root, 'run.sh')).mode & 0o777).to.equal(0o755)
    await writeFile(join(root, 'src/app.js'), 'edited in place, longer')
    const again = await sync()
    expect(readFileSync(join(again.root, 'src/app.js'), 'utf8')).to.equal('edited in place, longer')
  })
})

describe('the build context folder following what moved (the hash of a watch cycle)', () => {
  let root: string
  let cache: string
  const cleanups: Array<() => Promise<void>> = []
  const env = () => ({KUDEV_CACHE_DIR: cache})
  const logger = createLogger('error')

  beforeEach(async () => {
    const project = await tempFolder('mirror-follow-src')
    const home = await tempFolder('mirror-follow-cache')
    cleanups.push(project.remove, home.remove)
    root = project.dir
    cache = home.dir
    await makeTree(root, {
      '.dockerignore': 'logs\n',
      Dockerfile: 'FROM scratch\n',
      'a/deep/two.txt': 'two',
      'a/one.txt': 'one',
      'b/three.txt': 'three',
      link: {link: 'a'},
      'logs/x.log': 'left out',
    })
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  const hash = (since?: HashResult, paths: string[] = []) =>
    hashBuildContext(projectConfig(root), {
      changes: since && {paths: new Set(paths), since: since.snapshot!},
      env: env(),
      logger,
    })

  function syncTo(result: HashResult, options: {moved?: boolean; cacheDir?: string} = {}): Mirror {
    const mirror = syncMirror({
      dockerfile: Buffer.from('FROM scratch\n'),
      entries: () => result.entries,
      env: {KUDEV_CACHE_DIR: options.cacheDir ?? cache},
      moved: options.moved === false ? undefined : result.moved,
      contextDigest: result.contextDigest,
      root,
    })
    mirror!.release()
    return mirror!
  }

  /** What the hashed entries hold in the project, as `contents` reads a folder. */
  async function hashed(result: HashResult): Promise<Record<string, string>> {
    const all = await contents(root)
    return Object.fromEntries(result.entries.map((entry) => [entry.path, all[entry.path]!]))
  }

  it('touches only the folders listed again, and ends as a sync of every entry would', async () => {
    const first = await hash()
    expect(syncTo(first).followed, 'no folder state yet: every entry compared').to.equal(false)

    await writeFile(join(root, 'a/one.txt.tmp'), 'saved as a new file')
    await rename(join(root, 'a/one.txt.tmp'), join(root, 'a/one.txt'))
    await rm(join(root, 'a/deep'), {recursive: true})
    await makeTree(root, {'c/d/new.txt': 'new', 'c/top.txt': 'top'})
    await unlink(join(root, 'link'))
    await symlink('b', join(root, 'link'))
    await chmod(join(root, 'b/three.txt'), 0o755)
    const second = await hash(first, ['a/one.txt', 'a/one.txt.tmp', 'a/deep', 'c/d/new.txt', 'link', 'b/three.txt'])
    const followed = syncTo(second)
    expect(followed.followed).to.equal(true)
    expect(await contents(followed.root)).to.deep.equal(await hashed(second))
    // a/one.txt, c, c/d, c/d/new.txt, c/top.txt, link, b/three.txt (its mode); a/deep went
    expect([followed.linked, followed.removed]).to.deep.equal([7, 1])

    // The manifest and its journal say what the folder holds: a sync of every entry finds nothing to do.
    const compared = syncTo(second, {moved: false})
    expect([compared.followed, compared.linked, compared.removed]).to.deep.equal([false, 0, 0])
    const fresh = await tempFolder('mirror-follow-fresh')
    cleanups.push(fresh.remove)
    expect(await contents(syncTo(second, {cacheDir: fresh.dir}).root)).to.deep.equal(await contents(followed.root))
  })

  it('compares every entry when the folder holds other entries than the snapshot the changes count from', async () => {
    const first = await hash()
    syncTo(first)
    await writeFile(join(root, 'b/new.txt'), 'new')
    const second = await hash(first, ['b/new.txt'])
    await writeFile(join(root, 'a/added.txt'), 'added')
    const third = await hash(second, ['a/added.txt'])
    // The folder still holds `first`: following third's changes alone would miss b/new.txt.
    const mirror = syncTo(third)
    expect(mirror.followed).to.equal(false)
    expect(await contents(mirror.root)).to.deep.equal(await hashed(third))
  })

  it('follows from a later snapshot of the same entries (a file touched, its content the same)', async () => {
    const first = await hash()
    syncTo(first)
    await utimes(join(root, 'b/three.txt'), new Date(), new Date('2021-01-01'))
    const touched = await hash(first, ['b/three.txt'])
    expect(touched.snapshot).to.not.equal(first.snapshot)
    expect(touched.contextDigest).to.equal(first.contextDigest)
    await writeFile(join(root, 'a/one.txt'), 'one, edited')
    const edited = await hash(touched, ['a/one.txt'])
    const mirror = syncTo(edited)
    // a/one.txt, written in place: its stat moved, so it is linked again (the same file)
    expect([mirror.followed, mirror.linked, mirror.removed]).to.deep.equal([true, 1, 0])
    expect(await contents(mirror.root)).to.deep.equal(await hashed(edited))
  })

  it('compares every entry where a ! rule re-includes something below an excluded folder', async () => {
    await writeFile(join(root, '.dockerignore'), 'logs\n!logs/keep.log\n')
    await writeFile(join(root, 'logs/keep.log'), 'kept')
    const first = await hash()
    syncTo(first)
    await writeFile(join(root, 'logs/keep.log'), 'kept, edited to a new length')
    await writeFile(join(root, 'logs/other.log'), 'still left out')
    const second = await hash(first, ['logs/keep.log', 'logs/other.log'])
    const mirror = syncTo(second)
    expect(mirror.followed).to.equal(false)
    expect(await contents(mirror.root)).to.deep.equal(await hashed(second))
  })
})
