/**
 * Certificates and passwords for tests of TLS and login, made with the real tools: `openssl` (a CA, a
 * server certificate for 127.0.0.1 and localhost, a client certificate) and `htpasswd -B` from
 * apache2-utils (the bcrypt lines the registry's htpasswd auth reads). scripts/ensure-docker.sh installs
 * both in CI.
 *
 *   before(async function () { await requireTlsTools(this); certs = await makeCertificates(dir) })
 */
import {execa} from 'execa'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {isCI} from './docker.js'

export interface TestCertificates {
  /** PEM files. */
  caCert: string
  caKey: string
  /** For 127.0.0.1 and localhost (subjectAltName), signed by the CA. */
  serverCert: string
  serverKey: string
  /** A client certificate signed by the CA (for servers that ask for one). */
  clientCert: string
  clientKey: string
  /** A second CA, which signed nothing here: trusting it alone must not be enough. */
  otherCaCert: string
}

/** Returns when openssl and htpasswd run. Otherwise: in CI throws (scripts/ensure-docker.sh installs them); locally, skips. */
export async function requireTlsTools(ctx: Mocha.Context): Promise<void> {
  const missing: string[] = []
  for (const [program, args] of [
    ['openssl', ['version']],
    ['htpasswd', ['-nbB', 'a', 'b']],
  ] as const) {
    const result = await execa(program, args, {reject: false}).catch(() => ({exitCode: -1}))
    if (result.exitCode !== 0) missing.push(program)
  }

  if (missing.length === 0) return
  if (isCI())
    throw new Error(
      `${missing.join(' and ')} required in CI: apt-get install openssl apache2-utils (scripts/ensure-docker.sh does, as root)`,
    )
  ctx.skip()
}

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, {stdin: 'ignore'})
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, in `dir`; valid for two days. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => path.join(dir, name)
  const certs: TestCertificates = {
    caCert: file('ca.pem'),
    caKey: file('ca-key.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client-key.pem'),
    otherCaCert: file('other-ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server-key.pem'),
  }
  const newCa = (cert: string, key: string, name: string) =>
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ])
  await newCa(certs.caCert, certs.caKey, 'kudev test CA')
  await newCa(certs.otherCaCert, file('other-ca-key.pem'), 'kudev other test CA')
  const extensions = file('server.ext')
  await writeFile(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  const clientExtensions = file('client.ext')
  await writeFile(clientExtensions, 'extendedKeyUsage=clientAuth\n')
  for (const [cert, key, subject, ext] of [
    [certs.serverCert, certs.serverKey, '/CN=127.0.0.1', extensions],
    [certs.clientCert, certs.clientKey, '/CN=kudev test client', clientExtensions],
  ] as const) {
    const request = `${cert}.csr`
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', request, '-subj', subject])
    await openssl([
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      certs.caCert,
      '-CAkey',
      certs.caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      ext,
    ])
  }

  return certs
}

/** An htpasswd line (`user:$2y$…`, bcrypt, as the registry requires) made by `htpasswd -nbB`. */
export async function htpasswdLine(user: string, password: string): Promise<string> {
  const {stdout} = await execa('htpasswd', ['-nbB', user, password])
  return stdout.trim()
}
