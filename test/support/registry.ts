/**
 * A real OCI registry on loopback for integration tests: Debian's `docker-registry` (the CNCF
 * distribution registry), plain HTTP on 127.0.0.1, storage in a folder of its own.
 *
 *   const cleanup = suiteCleanup()
 *   before(async function () { await requireDocker(this); registry = await startRegistry(this, cleanup) })
 *   it('…', async () => { await docker(['push', `${registry.host}/app:1`]) })
 *
 * Docker pushes to it without TLS (127.0.0.0/8 registries are insecure by default), and a node started
 * with `--network host` pulls from it with `ctr images pull --plain-http`.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {access, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {type CleanupRegistry, isCI} from './docker.js'

/** The registry binary: $KUDEV_TEST_REGISTRY, else Debian's /usr/bin/docker-registry. */
export function registryBinary(): string {
  return process.env.KUDEV_TEST_REGISTRY?.trim() || '/usr/bin/docker-registry'
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`: what --registry takes and image names start with. */
  host: string
  /** Its storage and config folder. */
  dir: string
  /** The registry's own log so far (it logs every request). */
  log(): Promise<string>
  /** Stops it and removes its folder (also done at cleanup). */
  stop(): Promise<void>
}

/**
 * Returns when the registry binary is installed. Otherwise: in CI (scripts/ensure-docker.sh installs
 * docker-registry) throws; locally, skips the test or suite.
 */
export async function requireRegistry(ctx: Mocha.Context): Promise<void> {
  try {
    await access(registryBinary())
  } catch {
    if (isCI())
      throw new Error(
        `${registryBinary()} is required in CI: apt-get install docker-registry (scripts/ensure-docker.sh does, as root)`,
      )
    ctx.skip()
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/**
 * Starts a registry on a free port of 127.0.0.1 and waits until `GET /v2/` answers 200 (20 s). It is
 * stopped and its folder removed by `cleanup` (or stop()). Retries on another port when the one chosen
 * was taken meanwhile.
 */
export async function startRegistry(cleanup: CleanupRegistry, attempts = 3): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kudev-registry-'))
  const logFile = path.join(dir, 'registry.log')
  let child: ChildProcess | undefined
  const stop = async () => {
    const running = child
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGTERM')
      const killer = setTimeout(() => running.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }

    await rm(dir, {force: true, recursive: true})
  }

  cleanup.add(`registry in ${dir}`, stop)
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const config = path.join(dir, 'config.yml')
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: info, accesslog: {disabled: false}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, 'storage'))}}, delete: {enabled: true}}`,
      `http: {addr: "${host}"}`,
      '',
    ].join('\n'),
  )
  const fd = openSync(logFile, 'a')
  try {
    child = spawn(registryBinary(), ['serve', config], {stdio: ['ignore', fd, fd]})
    child.on('error', () => undefined) // a missing binary shows as an early exit below
  } finally {
    closeSync(fd) // the child has its own copy
  }

  const log = () => readFile(logFile, 'utf8').catch(() => '')
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break
    const ok = await fetch(`http://${host}/v2/`, {signal: AbortSignal.timeout(1000)}).then(
      (response) => response.ok,
      () => false,
    )
    if (ok) return {dir, host, log, stop}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const output = await log()
  await stop()
  if (attempts > 1 && /address already in use/.test(output)) return startRegistry(cleanup, attempts - 1)
  throw new Error(
    `${registryBinary()} serve did not answer on ${host} within 20 s:\n${output.split('\n').slice(-20).join('\n')}`,
  )
}
