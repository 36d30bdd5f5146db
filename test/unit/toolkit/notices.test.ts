import {expect} from 'chai'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {firstTime} from '../../../src/toolkit/notices.js'

describe('notices said once (firstTime)', () => {
  let cache: string
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'kudev-notices-'))
  })
  afterEach(() => rmSync(cache, {force: true, recursive: true}))

  it('is true the first time a key is asked on this machine, then false, for each key', () => {
    const env = {KUDEV_CACHE_DIR: cache}
    expect([firstTime('a', env), firstTime('a', env), firstTime('b', env), firstTime('a', env)]).to.deep.equal([
      true,
      false,
      true,
      false,
    ])
  })

  it('says it again rather than never when the cache cannot be written', () => {
    const blocked = join(cache, 'a-file')
    writeFileSync(blocked, '')
    chmodSync(blocked, 0o400)
    const env = {KUDEV_CACHE_DIR: blocked}
    expect([firstTime('a', env), firstTime('a', env)]).to.deep.equal([true, true])
  })
})
