import {expect} from 'chai'
import {lutimes, mkdir, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {hashBuildContext, type HashOptions} from '../../../src/hash/index.js'
import {createLogger} from '../../../src/output/logger.js'
import {makeTree, projectConfig, tempFolder} from '../../support/tree.js'

// Enough files (3,000 or more to read) that the hash pool starts worker threads.
const FOLDERS = 60
const FILES_PER_FOLDER = 60

describe('hashing in worker threads', function () {
  this.timeout(120_000)
  let dir: string
  let env: NodeJS.ProcessEnv
  const cleanups: Array<() => Promise<void>> = []
  before(async () => {
    const project = await tempFolder('parallel')
    const cacheHome = await tempFolder('parallel-cache')
    cleanups.push(project.remove, cacheHome.remove)
    dir = project.dir
    env = {KUDEV_CACHE_DIR: cacheHome.dir}
    await makeTree(dir, {
      '.dockerignore': 'docs\n!docs/**/*.md\n*/skip-*\n',
      Dockerfile: 'FROM scratch\n',
      'docs/a/readme.md': 'md',
      'docs/a/notes.txt': 'txt',
      'links/up': {link: '../Dockerfile'},
    })
    for (let folder = 0; folder < FOLDERS; folder++) {
      const sub = join(dir, `pkg-${folder}`, 'lib')
      await mkdir(sub, {recursive: true})
      await Promise.all(
        Array.from({length: FILES_PER_FOLDER}, (_, file) =>
          writeFile(join(sub, `f${file}.js`), `module.exports = ${folder * file}\n`),
        ),
      )
      await writeFile(join(dir, `pkg-${folder}`, 'skip-me'), 'x')
    }

    const old = new Date('2020-01-01T00:00:00Z')
    for (const name of await readdir(dir, {recursive: true})) await lutimes(join(dir, name), old, old)
  })
  after(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  const run = (options: Partial<HashOptions>) =>
    hashBuildContext(projectConfig(dir), {env, logger: createLogger('error', {write: () => true}), ...options})

  it('gives the same entries and digest as the main thread alone', async () => {
    const alone = await run({noCache: true, workers: 0})
    const shared = await run({noCache: true, workers: 2})
    expect(alone.stats.workers).to.equal(0)
    expect(shared.stats.workers).to.equal(2)
    expect(shared.stats.entries).to.equal(7 + FOLDERS * (FILES_PER_FOLDER + 2))
    expect(shared.entries).to.deep.equal(alone.entries)
    expect(shared.digest).to.equal(alone.digest)
    expect(shared.entries.map((entry) => entry.path).filter((path) => path.startsWith('docs'))).to.deep.equal([
      'docs',
      'docs/a',
      'docs/a/readme.md',
    ])
  })

  it('starts no thread on a warm run, which reads no file', async () => {
    const cold = await run({workers: 2})
    const warm = await run({workers: 2})
    expect(cold.stats.workers).to.equal(2)
    expect(warm.stats).to.include({cachedFiles: cold.stats.files, hashedFiles: 0, workers: 0})
    expect(warm.digest).to.equal(cold.digest)
  })
})
