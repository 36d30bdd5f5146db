import {stat} from 'node:fs/promises'
import path from 'node:path'

import {KudevError} from '../output/errors.js'
import {CONFIG_FILE_NAME} from './schema.js'

export interface FindOptions {
  /** The process working directory. */
  cwd: string
  /** --config FILE: this file, no search. Relative to the working directory (after --dir). */
  config?: string
  /** -C/--dir DIR: act as if started in DIR, like `git -C`; relative to cwd. */
  dir?: string
}

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch {
    // Unreadable or missing both mean "not here"; the search goes on to the parent.
    return false
  }
}

async function workingDir(cwd: string, dir: string | undefined): Promise<string> {
  if (dir === undefined) return path.resolve(cwd)
  const absolute = path.resolve(cwd, dir)
  let problem: string
  try {
    if ((await stat(absolute)).isDirectory()) return absolute
    problem = 'is not a folder'
  } catch (error) {
    problem = errorCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${errorCode(error) ?? String(error)})`
  }
  throw new KudevError('usage', `--dir ${dir}: ${absolute} ${problem}`, {
    hint: 'pass an existing folder to -C/--dir',
    data: {dir: absolute},
  })
}

async function explicitFile(file: string, given: string): Promise<string> {
  let problem: string
  try {
    if ((await stat(file)).isFile()) return file
    problem = 'is a folder, not a file'
  } catch (error) {
    problem = errorCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${errorCode(error) ?? String(error)})`
  }
  throw new KudevError('config', `--config ${given}: ${file} ${problem}`, {
    hint: 'pass the path of a .kudev.yaml file, or leave out --config to search for one',
    data: {file},
  })
}

/**
 * The .kudev.yaml to use: the --config file if given, else the nearest one in the working
 * directory or above it, up to the filesystem root. Returns an absolute path.
 */
export async function findConfigFile(options: FindOptions): Promise<string> {
  const start = await workingDir(options.cwd, options.dir)
  if (options.config !== undefined) return explicitFile(path.resolve(start, options.config), options.config)
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, CONFIG_FILE_NAME)
    if (await isFile(candidate)) return candidate
    if (path.dirname(dir) === dir) break
  }
  throw new KudevError('config', `no ${CONFIG_FILE_NAME} found in ${start} or any parent folder`, {
    hint: 'run `kudev init` to create one, or pass --config FILE',
    data: {searchedFrom: start},
  })
}
