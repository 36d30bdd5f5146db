import {createHash} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {cacheDir} from '../hash/cache-file.js'

/**
 * True the first time `key` is asked on this machine, for a notice worth reading once rather than on every
 * run: a marker file per key in kudev's cache. A cache kudev cannot write to answers true (better said
 * twice than never).
 */
export function firstTime(key: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const folder = path.join(cacheDir(env), 'notices')
  const file = path.join(folder, createHash('sha256').update(key).digest('hex').slice(0, 32))
  try {
    mkdirSync(folder, {recursive: true})
    writeFileSync(file, `${key}\n`, {flag: 'wx'})
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EEXIST'
  }
}
