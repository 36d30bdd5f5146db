import watcher from '@parcel/watcher'
import {expect} from 'chai'
import {existsSync, readdirSync} from 'node:fs'
import {appendFile, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {type Barrier, makeBarrier} from '../../../src/watch/barrier.js'
import {tempFolder} from '../../support/tree.js'

describe("the watcher's barrier (every change before it reported)", function () {
  this.timeout(60_000)
  let project: string
  let cache: string
  const cleanups: Array<() => Promise<void>> = []
  const backend = process.platform === 'linux' ? 'inotify' : undefined

  beforeEach(async () => {
    const projectFolder = await tempFolder('barrier-project')
    const cacheFolder = await tempFolder('barrier-cache')
    cleanups.push(projectFolder.remove, cacheFolder.remove)
    project = projectFolder.dir
    cache = cacheFolder.dir
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function watchBoth(): Promise<{barrier: Barrier; reported: Set<string>}> {
    const reported = new Set<string>()
    const subscription = await watcher.subscribe(
      project,
      (error, events) => {
        for (const event of events) reported.add(event.path)
      },
      {backend},
    )
    const barrier = await makeBarrier((folder, callback) => watcher.subscribe(folder, callback, {backend}), {
      KUDEV_CACHE_DIR: cache,
    })
    expect(barrier).to.not.equal(undefined)
    cleanups.push(async () => {
      await barrier!.close()
      await subscription.unsubscribe()
    })
    return {barrier: barrier!, reported}
  }

  it('passes only once the changes made before it were handed over, write after write', async () => {
    // Made before the watch: inotify watches a new folder only once its creation is read, so a file written
    // into it at once may never be reported (the hash lists a created folder whole; this test is not about that).
    await mkdir(join(project, 'src'))
    const {barrier, reported} = await watchBoth()
    for (let round = 0; round < 25; round++) {
      const file = join(project, 'src', `file-${round}.js`)
      await writeFile(file, `round ${round}`)
      if (round % 2 === 1) await appendFile(join(project, 'src', `file-${round - 1}.js`), 'again')
      expect(await barrier.passed()).to.equal(true)
      expect(reported.has(file), `round ${round}: ${file} reported before the barrier passed`).to.equal(true)
    }
  })

  it('keeps its marks in its own cache folder, and removes the folder when closed', async () => {
    const {barrier} = await watchBoth()
    expect(await barrier.passed()).to.equal(true)
    expect(await barrier.passed(true), 'quick: the first mark only').to.equal(true)
    const folder = join(cache, 'watch', String(process.pid))
    expect(readdirSync(folder)).to.deep.equal([])
    expect(readdirSync(project)).to.deep.equal([])
    await barrier.close()
    expect(existsSync(folder)).to.equal(false)
  })

  it('is not made where its folder cannot be (then every check hashes again)', async () => {
    await writeFile(join(cache, 'watch'), 'a file where the folder would go')
    const barrier = await makeBarrier((folder, callback) => watcher.subscribe(folder, callback, {backend}), {
      KUDEV_CACHE_DIR: cache,
    })
    expect(barrier).to.equal(undefined)
  })
})
