/** Images as `docker save`-format archives, for loaders whose cluster takes a tar (kind, minikube, ctr import). */
import {createWriteStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

import type {BaseToolkit, LoadableImage} from '../plugins/contract.js'
import {docker} from './docker.js'

/**
 * Writes the image as a `docker save`-format tar to `file`: from the Docker daemon when it is there (for
 * one platform when given), otherwise through the builder that made it (`podman save`).
 */
export async function saveImage(
  toolkit: BaseToolkit,
  image: LoadableImage,
  file: string,
  signal: AbortSignal,
  platform?: string,
): Promise<void> {
  if (image.inDockerDaemon) {
    const args = ['save', ...(platform === undefined ? [] : ['--platform', platform]), '-o', file, image.ref]
    const saved = await docker(toolkit, args, `save ${image.ref}`, {accept: gone, signal})
    if (saved.exitCode !== 0)
      throw toolkit.error('load', `${image.ref} is no longer in Docker: it went between the build and the load`, {
        hint: 'build it again (kudev up builds what is missing), then load it',
      })
    return
  }

  try {
    await pipeline(await image.save(), createWriteStream(file), {signal})
  } catch (error) {
    if (signal.aborted)
      throw toolkit.error('interrupted', `interrupted while saving ${image.ref}`, {
        hint: 'nothing was loaded; run the command again',
      })
    throw error
  }
}

/** `docker save` of an image Docker does not have (removed, or its tag moved to nothing). */
const gone = (result: {stderr: string}) => /no such image|reference does not exist/i.test(result.stderr)

/** Runs `work` with a new temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  try {
    return await work(dir)
  } finally {
    await rm(dir, {force: true, recursive: true})
  }
}

/** The digests an OCI layout archive's index.json names (`docker save` ≥ 25 writes one): what `ctr import` points names at. */
export async function archiveTargets(toolkit: BaseToolkit, archive: string): Promise<string[]> {
  const {stdout} = await toolkit.exec('tar', ['-xOf', archive, 'index.json'], {errorCode: 'load'})
  const index = JSON.parse(stdout) as {manifests?: {digest?: unknown}[]}
  return (index.manifests ?? [])
    .map((entry) => entry.digest)
    .filter((digest): digest is string => typeof digest === 'string')
}
