import {expect} from 'chai'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {isKudevError, type KudevError} from '../../../src/output/errors.js'

const fixtures = fileURLToPath(new URL('../../fixtures/kubeconfig/', import.meta.url))

/** Absolute path of a fixture kubeconfig, by file name without .yaml. */
export function fixture(name: string): string {
  return path.join(fixtures, `${name}.yaml`)
}

/** A KUBECONFIG value listing the fixtures in order. */
export function kubeconfigEnv(...names: string[]): NodeJS.ProcessEnv {
  return {KUBECONFIG: names.map((name) => fixture(name)).join(path.delimiter)}
}

/** Awaits a promise that must reject with a KudevError of kind 'kube', and returns that error. */
export async function kubeError(promise: Promise<unknown>): Promise<KudevError> {
  let caught: unknown
  try {
    await promise
  } catch (error) {
    caught = error
  }

  expect(isKudevError(caught), `expected a KudevError, got ${String(caught)}`).to.equal(true)
  const error = caught as KudevError
  expect(error.code).to.equal('kube')
  expect(error.hint, 'every kube error has a hint').to.be.a('string').and.not.equal('')
  return error
}

/** A fresh temporary folder per test, removed afterwards. */
export function useTempDir(): () => string {
  let dir: string | undefined
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kudev-kube-'))
  })
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, {recursive: true, force: true})
    dir = undefined
  })
  return () => {
    if (dir === undefined) throw new Error('useTempDir: only available inside a test')
    return dir
  }
}
