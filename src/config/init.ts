import {constants} from 'node:fs'
import {access, rename, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {KudevError} from '../output/errors.js'
import {CONFIG_FILE_NAME, DEFAULTS} from './schema.js'
import {deriveProjectName, starterConfig} from './starter.js'

export interface InitOptions {
  cwd: string
  dir?: string
  force?: boolean
  name?: string
}

export interface InitResult {
  file: string
  name: string
  dockerfile: string
  dockerfileExists: boolean
}

/** Writes the starter file atomically (temp file + rename), so a crash never leaves half a config. */
export async function writeStarterConfig(options: InitOptions): Promise<InitResult> {
  const dir = path.resolve(options.cwd, options.dir ?? '.')
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  )
  if (!isDir)
    throw new KudevError('usage', `--dir ${options.dir}: ${dir} is not an existing folder`, {
      hint: 'create the folder first, or pass another one',
    })

  const file = path.join(dir, CONFIG_FILE_NAME)
  const exists = await access(file, constants.F_OK).then(
    () => true,
    () => false,
  )
  if (exists && !options.force) {
    throw new KudevError('config', `${file} already exists`, {
      hint: 'keep it and run `kudev validate`, or pass --force to replace it',
    })
  }

  const name = options.name ?? deriveProjectName(dir)
  const text = starterConfig({name})
  const temp = `${file}.${process.pid}.tmp`
  try {
    await writeFile(temp, text, {flag: 'wx'})
    await rename(temp, file)
  } catch (error) {
    await rm(temp, {force: true})
    throw new KudevError('config', `cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'check that the folder is writable by the current user',
    })
  }

  const dockerfile = path.join(dir, DEFAULTS.dockerfilePath)
  const dockerfileExists = await stat(dockerfile).then(
    (s) => s.isFile(),
    () => false,
  )
  return {dockerfile, dockerfileExists, file, name}
}
