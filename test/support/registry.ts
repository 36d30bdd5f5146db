/**
 * A real OCI registry on loopback for integration tests: Debian's `docker-registry` (the CNCF
 * distribution registry), plain HTTP on 127.0.0.1, storage in a folder of its own.
 *
 *   const cleanup = suiteCleanup()
 *   before(async function () { await requireDocker(this); registry = await startRegistry(cleanup) })
 *   it('…', async () => { await docker(['push', `${registry.host}/app:1`]) })
 *
 * Docker pushes to it without TLS (127.0.0.0/8 registries are insecure by default), and a node started
 * with `--network host` pulls from it with `ctr images pull --plain-http`.
 *
 * With `tls` it serves HTTPS with that certificate (test/support/tls.ts makes one); with `htpasswd` it
 * wants a login (`docker login HOST -u USER --password-stdin`) for every request, pulls included.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {access, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {request} from 'node:https'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {type CleanupRegistry, isCI} from './docker.js'
import {htpasswdLine} from './tls.js'

/** The registry binary: $KUDEV_TEST_REGISTRY, else Debian's /usr/bin/docker-registry. */
export function registryBinary(): string {
  return process.env.KUDEV_TEST_REGISTRY?.trim() || '/usr/bin/docker-registry'
}

export interface RegistryOptions {
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: {cert: string; key: string}
  /** Want this login for every request (htpasswd auth, bcrypt). */
  htpasswd?: {user: string; password: string}
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`: what --registry takes and image names start with. */
  host: string
  /** `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT`. */
  base: string
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
export async function startRegistry(
  cleanup: CleanupRegistry,
  options: RegistryOptions = {},
  attempts = 3,
): Promise<TestRegistry> {
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
  const htpasswdFile = path.join(dir, 'htpasswd')
  if (options.htpasswd)
    await writeFile(htpasswdFile, `${await htpasswdLine(options.htpasswd.user, options.htpasswd.password)}\n`)
  const base = `${options.tls ? 'https' : 'http'}://${host}`
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: info, accesslog: {disabled: false}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, 'storage'))}}, delete: {enabled: true}}`,
      options.tls
        ? `http: {addr: "${host}", tls: {certificate: ${JSON.stringify(options.tls.cert)}, key: ${JSON.stringify(options.tls.key)}}}`
        : `http: {addr: "${host}"}`,
      ...(options.htpasswd ? [`auth: {htpasswd: {realm: kudev-test, path: ${JSON.stringify(htpasswdFile)}}}`] : []),
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
    const status = await baseStatus(base)
    // 401: up, and wanting the login it was configured with.
    if (status === 200 || (options.htpasswd && status === 401)) return {base, dir, host, log, stop}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const output = await log()
  await stop()
  if (attempts > 1 && /address already in use/.test(output)) return startRegistry(cleanup, options, attempts - 1)
  throw new Error(
    `${registryBinary()} serve did not answer on ${host} within 20 s:\n${output.split('\n').slice(-20).join('\n')}`,
  )
}

/** The status of `GET <base>/v2/` (the certificate is not checked: this only asks whether it is up), or 0. */
async function baseStatus(base: string): Promise<number> {
  if (base.startsWith('http:'))
    return fetch(`${base}/v2/`, {signal: AbortSignal.timeout(1000)}).then(
      (response) => response.status,
      () => 0,
    )
  return new Promise((resolve) => {
    const asking = request(`${base}/v2/`, {agent: false, rejectUnauthorized: false, timeout: 1000}, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    asking.on('error', () => resolve(0))
    asking.on('timeout', () => asking.destroy())
    asking.end()
  })
}
