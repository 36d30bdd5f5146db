/**
 * The registry loader against real registries that are not plain HTTP: Debian's docker-registry serving
 * HTTPS with a certificate from a CA openssl made, and one that also wants a login (htpasswd, bcrypt).
 * The real Docker engine and CLI push and log in (to a DOCKER_CONFIG folder of the test's own, so the
 * machine's login is untouched); the real podman pushes what it built. kudev itself runs as a real CLI too.
 */
import {expect} from 'chai'
import type {LoadableImage} from 'kudev'
import {realToolkit, rejection} from 'kudev/testing'
import {access, copyFile, mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'

import {dataDirWithPlugins, repoRoot, runCli} from '../../../test/support/cli.js'
import {docker, dockerResult, requireDocker, suiteCleanup} from '../../../test/support/docker.js'
import {buildUniqueImage} from '../../../test/support/images.js'
import {podman, podmanResult, removePodmanImage, requirePodman} from '../../../test/support/podman.js'
import {requireRegistry, startRegistry, type TestRegistry} from '../../../test/support/registry.js'
import {makeCertificates, requireTlsTools, type TestCertificates} from '../../../test/support/tls.js'
import {RegistryLoader} from '../src/loader.js'

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`
const REPOSITORY = 'kudev-test/secure-registry'
const USER = 'kudev-ci'
const PASSWORD = `pw-${suffix}-Zq8`

/** The docker CLIs on this machine: Debian's 20.10 and the newer one some machines ship in /usr/local/bin. */
async function dockerClis(): Promise<string[]> {
  const found: string[] = []
  for (const cli of ['/usr/bin/docker', '/usr/local/bin/docker'])
    if (
      await access(cli).then(
        () => true,
        () => false,
      )
    )
      found.push(cli)
  return found
}

describe('registry loader (integration: HTTPS and login registries, docker and podman push)', function () {
  this.timeout(300_000)
  const cleanup = suiteCleanup()
  let certs: TestCertificates
  let tmp: string
  let tlsRegistry: TestRegistry
  let loginRegistry: TestRegistry
  let dockerConfig: string
  const saved = {DOCKER_CONFIG: process.env.DOCKER_CONFIG, PATH: process.env.PATH}

  const target = (registry: TestRegistry) => ({context: 'dev', params: {registry: registry.host}})
  const image = (name: string) =>
    buildUniqueImage({cleanup, dir: path.join(tmp, name), ref: `${REPOSITORY}:${name}-${suffix}`})

  before(async function () {
    await requireDocker(this)
    await requireRegistry(this)
    await requireTlsTools(this)
    tmp = await cleanup.tempDir('kudev-secure-registry-')
    certs = await makeCertificates(tmp)
    const tls = {cert: certs.serverCert, key: certs.serverKey}
    tlsRegistry = await startRegistry(cleanup, {tls})
    loginRegistry = await startRegistry(cleanup, {htpasswd: {password: PASSWORD, user: USER}, tls})
    // docker (and podman, which reads Docker's config.json when it has no login of its own) keep logins here.
    dockerConfig = path.join(tmp, 'docker-config')
    await mkdir(dockerConfig)
    // podman 4.3 fails (stat …/config.json) when DOCKER_CONFIG names a folder without one.
    await writeFile(path.join(dockerConfig, 'config.json'), '{}\n')
    process.env.DOCKER_CONFIG = dockerConfig
  })

  after(() => {
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
  })

  describe('an HTTPS registry on 127.0.0.1 (a private CA)', () => {
    it('docker push works and kudev reads it over HTTPS without verifying, as Docker does for loopback', async () => {
      const built = await image('tls')
      const toolkit = realToolkit()
      const loader = new RegistryLoader(toolkit, {certsDir: path.join(tmp, 'no-certs.d')})
      const clusterRef = cleanup.image(loader.clusterRef(built, target(tlsRegistry)))
      expect(await loader.has(built, target(tlsRegistry))).to.equal(false)
      expect(await loader.load(built, target(tlsRegistry), new AbortController().signal)).to.deep.equal({
        method: `docker push ${clusterRef}`,
        nodes: [],
      })
      expect(await loader.has(built, target(tlsRegistry))).to.equal(true)
      expect(toolkit.logs.debug).to.include(`GET https://${tlsRegistry.host}/v2/${REPOSITORY}/manifests/tls-${suffix}`)
      expect(toolkit.logs.debug.filter((line) => line.startsWith('GET http://'))).to.deep.equal([])
      expect(await tlsRegistry.log()).to.include(`PUT /v2/${REPOSITORY}/manifests/tls-${suffix}`)
    })

    it('with verification on, trusts the CA from a certs.d folder and refuses the registry without it', async () => {
      const built = await image('verified')
      const loader = new RegistryLoader(realToolkit())
      cleanup.image(loader.clusterRef(built, target(tlsRegistry)))
      await loader.load(built, target(tlsRegistry), new AbortController().signal)

      const certsDir = path.join(tmp, 'certs.d')
      await mkdir(path.join(certsDir, tlsRegistry.host), {recursive: true})
      await copyFile(certs.caCert, path.join(certsDir, tlsRegistry.host, 'ca.crt'))
      const verified = new RegistryLoader(realToolkit(), {certsDir, security: 'secure'})
      expect(await verified.has(built, target(tlsRegistry))).to.equal(true)

      const untrusting = new RegistryLoader(realToolkit(), {certsDir: path.join(tmp, 'empty'), security: 'secure'})
      const error = await rejection(untrusting.has(built, target(tlsRegistry)))
      expect(error.code).to.equal('load')
      expect(error.message).to.match(new RegExp(`^cannot trust registry ${tlsRegistry.host}: .*UNABLE_TO_VERIFY`))
      expect(error.hint).to.include(`${path.join(tmp, 'empty')}/${tlsRegistry.host}/ca.crt`)
    })
  })

  describe('an HTTPS registry that wants a login (htpasswd)', () => {
    it('without docker login, has() says the registry wants credentials and load() removes its tag', async () => {
      const built = await image('nologin')
      const loader = new RegistryLoader(realToolkit())
      const clusterRef = cleanup.image(loader.clusterRef(built, target(loginRegistry)))
      const asked = await rejection(loader.has(built, target(loginRegistry)))
      expect(asked.code).to.equal('load')
      expect(asked.message).to.match(new RegExp(`^registry ${loginRegistry.host} wants credentials \\(GET https://`))
      expect(asked.message).to.include('no basic auth credentials')
      expect(asked.hint).to.equal(
        `log in once: docker login ${loginRegistry.host} (kudev asks docker; it never reads credentials itself)`,
      )

      const pushed = await rejection(loader.load(built, target(loginRegistry), new AbortController().signal))
      expect(pushed.message).to.match(new RegExp(`^docker push ${clusterRef} failed: .*no basic auth credentials`))
      expect(pushed.hint).to.equal(`log in to the registry: docker login ${loginRegistry.host}`)
      expect((await dockerResult(['image', 'inspect', clusterRef])).failed, 'the tag is gone').to.equal(true)
    })

    it('after docker login, pushes and verifies through docker manifest inspect, with each docker CLI, never showing the password', async () => {
      await docker(['login', loginRegistry.host, '-u', USER, '--password-stdin'], {
        env: {DOCKER_CONFIG: dockerConfig},
        input: PASSWORD,
      })
      const clis = await dockerClis()
      expect(clis.length, 'a docker CLI at /usr/bin/docker or /usr/local/bin/docker').to.be.greaterThan(0)
      for (const cli of clis) {
        // The toolkit runs `docker` from PATH: this CLI first.
        const bin = path.join(tmp, `bin-${path.basename(path.dirname(path.dirname(cli)))}-${clis.indexOf(cli)}`)
        await mkdir(bin, {recursive: true})
        await symlink(cli, path.join(bin, 'docker')).catch(() => undefined)
        process.env.PATH = `${bin}:${saved.PATH}`
        try {
          const built = await image(`login${clis.indexOf(cli)}`)
          const toolkit = realToolkit()
          const loader = new RegistryLoader(toolkit)
          const clusterRef = cleanup.image(loader.clusterRef(built, target(loginRegistry)))
          expect(await loader.has(built, target(loginRegistry)), cli).to.equal(false)
          await loader.load(built, target(loginRegistry), new AbortController().signal)
          expect(await loader.has(built, target(loginRegistry)), cli).to.equal(true)
          const inspects = toolkit.logs.debug.filter((line) => line.includes(' manifest inspect '))
          expect(inspects, cli).to.include(`$ docker manifest inspect --insecure --verbose ${clusterRef}`)
          expect(JSON.stringify(toolkit.logs), cli).to.not.include(PASSWORD)
          expect(JSON.stringify(toolkit.logs), cli).to.not.include(
            Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
          )
        } finally {
          process.env.PATH = saved.PATH
        }
      }
    })

    it('kudev load --registry pushes there as a real CLI, printing neither the password nor the stored login', async () => {
      await docker(['login', loginRegistry.host, '-u', USER, '--password-stdin'], {
        env: {DOCKER_CONFIG: dockerConfig},
        input: PASSWORD,
      })
      const built = await image('cli')
      const clusterRef = cleanup.image(`${loginRegistry.host}/${built.ref}`)
      const kubeconfig = path.join(tmp, 'kubeconfig.yaml')
      await writeFile(
        kubeconfig,
        'apiVersion: v1\nkind: Config\ncurrent-context: remote\nclusters:\n- name: remote\n  cluster: {server: "https://127.0.0.1:1"}\ncontexts:\n- name: remote\n  context: {cluster: remote, user: remote}\nusers:\n- name: remote\n  user: {}\n',
      )
      const env = {DOCKER_CONFIG: dockerConfig, KUBECONFIG: kubeconfig, PATH: saved.PATH}
      const first = await runCli(['load', built.ref, '--registry', loginRegistry.host, '-v'], {env})
      expect(first.exitCode, first.stderr).to.equal(0)
      expect(first.stdout).to.equal(`${clusterRef} ${built.id}`)
      const again = await runCli(['load', built.ref, '--registry', loginRegistry.host, '-v'], {env})
      expect(again.exitCode, again.stderr).to.equal(0)
      expect(again.stderr).to.include('is already in remote')
      const stored = await readFile(path.join(dockerConfig, 'config.json'), 'utf8')
      const auth = /"auth":\s*"([^"]+)"/.exec(stored)?.[1]
      expect(auth, 'docker login stored the login in the test folder').to.be.a('string')
      for (const output of [first.stdout, first.stderr, again.stdout, again.stderr]) {
        expect(output).to.not.include(PASSWORD)
        expect(output).to.not.include(auth!)
      }
    })
  })

  describe('podman push (an image only podman has)', () => {
    let podmanImage: LoadableImage

    before(async function () {
      await requirePodman(this)
      const dir = path.join(tmp, 'podman')
      await mkdir(dir, {recursive: true})
      await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY file.txt /\n')
      await writeFile(path.join(dir, 'file.txt'), `podman ${suffix}\n`)
      const ref = `${REPOSITORY}:podman-${suffix}`
      const iidfile = path.join(tmp, 'podman-iid')
      await podman(['build', '-q', '--iidfile', iidfile, '-t', `docker.io/${ref}`, dir])
      cleanup.add(`podman image docker.io/${ref}`, () => removePodmanImage(`docker.io/${ref}`))
      const id = (await readFile(iidfile, 'utf8')).trim()
      podmanImage = {
        id: id.startsWith('sha256:') ? id : `sha256:${id}`,
        inDockerDaemon: false,
        ref,
        save: () => Promise.resolve(Readable.from([])),
      }
    })

    for (const which of ['tls', 'login'] as const) {
      it(`pushes with podman to the ${which === 'tls' ? 'HTTPS' : 'login'} registry on 127.0.0.1 and finds the image ID as the served config digest`, async () => {
        const registry = which === 'tls' ? tlsRegistry : loginRegistry
        if (which === 'login')
          await docker(['login', registry.host, '-u', USER, '--password-stdin'], {
            env: {DOCKER_CONFIG: dockerConfig},
            input: PASSWORD,
          })
        const toolkit = realToolkit()
        const loader = new RegistryLoader(toolkit)
        const clusterRef = loader.clusterRef(podmanImage, target(registry))
        cleanup.add(`podman tag ${clusterRef}`, () => removePodmanImage(clusterRef))
        expect(await loader.has(podmanImage, target(registry))).to.equal(false)
        const report = await loader.load(podmanImage, target(registry), new AbortController().signal)
        expect(report).to.deep.equal({method: `podman push ${clusterRef}`, nodes: []})
        expect(toolkit.logs.debug).to.include(`$ podman push --tls-verify=false ${clusterRef}`)
        expect(await loader.has(podmanImage, target(registry))).to.equal(true)
        expect(JSON.stringify(toolkit.logs)).to.not.include(PASSWORD)
        // Never in Docker's daemon: podman pushed it.
        expect((await dockerResult(['image', 'inspect', clusterRef])).failed).to.equal(true)
      })
    }

    it('kudev load --builder podman --registry pushes with podman as a real CLI', async () => {
      const kubeconfig = path.join(tmp, 'kubeconfig-podman.yaml')
      await writeFile(
        kubeconfig,
        'apiVersion: v1\nkind: Config\ncurrent-context: remote\nclusters:\n- name: remote\n  cluster: {server: "https://127.0.0.1:1"}\ncontexts:\n- name: remote\n  context: {cluster: remote, user: remote}\nusers:\n- name: remote\n  user: {}\n',
      )
      const registry = await startRegistry(cleanup)
      const clusterRef = `${registry.host}/${podmanImage.ref}`
      cleanup.add(`podman tag ${clusterRef}`, () => removePodmanImage(clusterRef))
      // The podman builder is not bundled: linked from plugins/podman, as `kudev plugins link` would.
      const data = await dataDirWithPlugins(['kudev-plugin-podman'], {
        'kudev-plugin-podman': path.join(repoRoot, 'plugins', 'podman'),
      })
      cleanup.add('kudev data folder', data.remove)
      const env = {DOCKER_CONFIG: dockerConfig, KUBECONFIG: kubeconfig, KUDEV_DATA_DIR: data.dir, PATH: saved.PATH}
      const result = await runCli(
        ['load', podmanImage.ref, '--builder', 'podman', '--registry', registry.host, '--json'],
        {env},
      )
      expect(result.exitCode, `${result.stderr}\n${result.stdout}`).to.equal(0)
      const loaded = JSON.parse(result.stdout) as {clusterRef: string; sent: {method: string}}
      expect(loaded.clusterRef).to.equal(clusterRef)
      expect(loaded.sent.method).to.equal(`podman push ${clusterRef}`)
      expect(await registry.log()).to.include(`PUT /v2/${REPOSITORY}/manifests/podman-${suffix}`)
    })

    it('fails clearly when podman has no login for the registry, and removes its tag', async () => {
      const loggedOut = path.join(tmp, 'logged-out')
      await mkdir(loggedOut, {recursive: true})
      process.env.DOCKER_CONFIG = loggedOut
      const authFile = process.env.REGISTRY_AUTH_FILE
      // podman's own login file, empty (podman then reads DOCKER_CONFIG's, empty too).
      process.env.REGISTRY_AUTH_FILE = path.join(loggedOut, 'auth.json')
      await writeFile(process.env.REGISTRY_AUTH_FILE, '{"auths": {}}\n')
      try {
        const loader = new RegistryLoader(realToolkit())
        const clusterRef = loader.clusterRef(podmanImage, target(loginRegistry)).replace(/:([^:]+)$/, ':other')
        const other = {...podmanImage, ref: `${REPOSITORY}:other`}
        const error = await rejection(loader.load(other, target(loginRegistry), new AbortController().signal))
        expect(error.code).to.equal('load')
        expect(error.message).to.match(
          new RegExp(`^podman push ${clusterRef} failed: .*(unauthorized|authentication required)`),
        )
        expect(error.hint).to.equal(
          `log in to the registry: podman login ${loginRegistry.host} (podman also reads docker login's credentials)`,
        )
        expect((await podmanResult(['image', 'exists', clusterRef])).exitCode, 'the tag is gone').to.equal(1)
      } finally {
        process.env.DOCKER_CONFIG = dockerConfig
        if (authFile === undefined) delete process.env.REGISTRY_AUTH_FILE
        else process.env.REGISTRY_AUTH_FILE = authFile
      }
    })
  })
})
