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
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new KudevError('config', `cannot read ${file} (${reason})`, {
      hint: 'check that the file is readable by the current user',
      data: {file},
      cause: error,
    })
  }
  return parseConfig(decodeText(bytes, file), file)
}

/** The file's text, which must be UTF-8: anything else would reach the YAML parser as garbled names and values. */
function decodeText(bytes: Buffer, file: string): string {
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)
  try {
    if (!utf16) return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    // Said below.
  }
  const lossy = bytes.toString('utf8')
  const line = lossy.slice(0, lossy.indexOf('\ufffd')).split('\n').length
  const what = utf16 ? 'is UTF-16 text; kudev reads it as UTF-8' : `is not UTF-8 text (line ${line})`
  throw new KudevError('config', `${file} ${what}`, {
    data: {file},
    hint: 'save it with the UTF-8 encoding (your editor offers it when saving)',
  })
}
