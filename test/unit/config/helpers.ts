import {mkdir, mkdtemp, realpath, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {isKudevError, type KudevError} from '../../../src/output/errors.js'

export const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url))

/** Temp folders for one test file: `make()` in a test, `cleanup()` in afterEach. */
export function tempDirs(): {make: (files?: Record<string, string>) => Promise<string>; cleanup: () => Promise<void>} {
  const made: string[] = []
  return {
    async make(files = {}) {
      // realpath: on macOS the temp folder is behind a symlink, and the paths kudev reports are resolved.
      const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'kudev-config-')))
      made.push(dir)
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(dir, name)
        await mkdir(path.dirname(file), {recursive: true})
        await writeFile(file, content)
      }
      return dir
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((dir) => rm(dir, {recursive: true, force: true})))
    },
  }
}

/** The KudevError a promise rejects with; anything else fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<KudevError> {
  try {
    await promise
  } catch (error) {
    if (isKudevError(error)) return error
    throw error
  }
  throw new Error('expected the promise to be rejected')
}
