import {expect} from 'chai'
import {existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readdir, rename, rm, symlink, unlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {compareNames, type Entry, makeEntry} from '../../../src/context/entries.js'
import {type Mirror, mirrorFolder, syncMirror} from '../../../src/context/mirror.js'

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
    const mirror = syncMirror({
      dockerfile: Buffer.from('FROM scratch\n'),
      entries: await entriesOf(root),
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

  it('starts over when a sync was cut short (no manifest): nothing stale stays', async () => {
    const mirror = await sync()
    writeFileSync(join(mirror.root, 'stray.txt'), 'left by a sync that did not finish')
    await rm(join(mirrorFolder(root, env()), 'manifest.json'))
    const again = await sync()
    expect(await contents(again.root)).to.deep.equal(await contents(root))
  })

  it('is not shared: a live kudev holding it gets undefined, a lock left by a dead process is taken over', async () => {
    await sync()
    const lock = join(mirrorFolder(root, env()), 'lock')
    writeFileSync(lock, String(process.ppid))
    const entries = await entriesOf(root)
    const options = {dockerfile: Buffer.from(''), entries, env: env(), root}
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
