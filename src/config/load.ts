import {readFile} from 'node:fs/promises'

import {KudevError} from '../output/errors.js'
import {findConfigFile, type FindOptions} from './find.js'
import {configError} from './problems.js'
import type {ProjectConfig} from './schema.js'
import {checkConfig} from './validate.js'

/**
 * Parses and validates .kudev.yaml text, throwing one KudevError that lists every problem.
 * `file` names the file in messages and anchors relative paths in it.
 */
export async function parseConfig(text: string, file: string): Promise<ProjectConfig> {
  const {problems, hint, project} = await checkConfig(text, file)
  if (project === undefined) throw configError(file, problems, hint)
  return project
}

/** Finds, reads, parses and validates the .kudev.yaml for a command. */
export async function loadConfig(options: FindOptions): Promise<ProjectConfig> {
  const file = await findConfigFile(options)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new KudevError('config', `cannot read ${file} (${reason})`, {
      hint: 'check that the file is readable by the current user',
      data: {file},
      cause: error,
    })
  }
  return parseConfig(text, file)
}
