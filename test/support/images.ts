/**
 * Local base images for integration tests: nothing can be pulled on these machines, so bases are made
 * from binaries already on the machine.
 */
import {execa} from 'execa'
import {constants} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {access, chmod, copyFile, mkdir, mkdtemp, open, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {LoadableImage} from '../../src/plugins/contract.js'
import {type CleanupRegistry, docker, dockerCli, dockerResult, uniqueName} from './docker.js'
import {hostImageId} from './nodes.js'

/** `kudev-test/busybox:1`: /bin/busybox (busybox-static) plus applet links, PATH=/bin, CMD sh. */
export const BUSYBOX_BASE = 'kudev-test/busybox:1'

/** Applets linked in /bin (the binary itself can run any applet: `busybox httpd …`). */
export const BUSYBOX_APPLETS = ['sh', 'ls', 'cat', 'echo', 'sleep', 'true', 'mkdir', 'chmod', 'env'] as const

let pending: Promise<string> | undefined

/**
 * Makes sure `kudev-test/busybox:1` exists in the engine that dockerCli() talks to, and returns its name.
 * Idempotent and lock-free: if `docker image inspect` finds it, nothing is done (two racing processes
 * would both import, and the later tag wins; both images are equivalent). Built at most once per process.
 * The image is kept after the tests: it is a shared, cheap base, not a test artifact.
 */
export function ensureBusyboxBase(): Promise<string> {
  pending ??= buildBusyboxBase().catch((error: unknown) => {
    pending = undefined // let a later call try again
    throw error
  })
  return pending
}

async function buildBusyboxBase(): Promise<string> {
  const inspect = await dockerResult(['image', 'inspect', '--format', '{{.Id}}', BUSYBOX_BASE], {timeout: 30_000})
  if (!inspect.failed) return BUSYBOX_BASE
  return importBusyboxImage(BUSYBOX_BASE)
}

/**
 * Unconditionally imports a busybox image under `name` (what ensureBusyboxBase() does when the base is
 * missing); for tests that need a throw-away image of their own. Returns `name`.
 */
export async function importBusyboxImage(name: string): Promise<string> {
  const busybox = await findStaticBusybox()
  const root = await mkdtemp(path.join(tmpdir(), 'kudev-busybox-rootfs-'))
  try {
    await mkdir(path.join(root, 'bin'))
    await mkdir(path.join(root, 'tmp'))
    await chmod(path.join(root, 'tmp'), 0o1777)
    await copyFile(busybox, path.join(root, 'bin', 'busybox'))
    await chmod(path.join(root, 'bin', 'busybox'), 0o755)
    for (const applet of BUSYBOX_APPLETS) {
      await symlink('busybox', path.join(root, 'bin', applet))
    }

    // tar -C root -c . | docker import --change … - kudev-test/busybox:1   (piped by execa, no shell)
    const result = await execa('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-c', '.'], {
      timeout: 60_000,
    }).pipe(
      dockerCli(),
      [
        'import',
        '--change',
        'ENV PATH=/bin',
        '--change',
        'CMD ["/bin/sh"]',
        '--message',
        'kudev test base: /bin/busybox from busybox-static',
        '-',
        name,
      ],
      {timeout: 60_000, reject: false},
    )
    if (result.failed) {
      throw new Error(`could not import ${name}: ${result.command}: ${String(result.stderr).trim()}`)
    }
  } finally {
    await rm(root, {force: true, recursive: true})
  }

  return name
}

/** $KUDEV_TEST_BUSYBOX, /bin/busybox or /usr/bin/busybox; it must be statically linked to run in the image. */
async function findStaticBusybox(): Promise<string> {
  const candidates = [process.env.KUDEV_TEST_BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter(
    (c): c is string => c !== undefined && c !== '',
  )
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK)
    } catch {
      continue
    }

    if (await isDynamicElf(candidate)) {
      throw new Error(
        `${candidate} is dynamically linked and cannot run alone in an image; install busybox-static ` +
          '(apt-get install busybox-static) or set KUDEV_TEST_BUSYBOX to a static busybox',
      )
    }

    return candidate
  }

  throw new Error(
    'no busybox found (looked at ' +
      candidates.join(', ') +
      '); install busybox-static ' +
      '(scripts/ensure-docker.sh does, as root) or set KUDEV_TEST_BUSYBOX',
  )
}

/** True if the file is an ELF with a PT_INTERP program header (i.e. needs a dynamic loader). */
async function isDynamicElf(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const header = Buffer.alloc(64)
    await handle.read(header, 0, 64, 0)
    if (header.readUInt32BE(0) !== 0x7f_45_4c_46) return false // not ELF: let docker run tell
    const is64 = header[4] === 2
    const little = header[5] === 1
    const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o))
    const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o))
    const phoff = is64 ? Number(little ? header.readBigUInt64LE(32) : header.readBigUInt64BE(32)) : u32(header, 28)
    const phentsize = u16(header, is64 ? 54 : 42)
    const phnum = u16(header, is64 ? 56 : 44)
    const table = Buffer.alloc(phentsize * phnum)
    await handle.read(table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) {
      if (u32(table, i * phentsize) === 3) return true // PT_INTERP
    }

    return false
  } finally {
    await handle.close()
  }
}

/**
 * A FROM scratch image with unique content (plus `padding` random bytes, for slow loads), so its ID is new to
 * every node. Built in `dir`, tagged `ref`, registered for removal; returned as loaders receive it.
 */
export async function buildUniqueImage(options: {
  cleanup: CleanupRegistry
  dir: string
  ref: string
  padding?: number
}): Promise<LoadableImage> {
  await mkdir(options.dir, {recursive: true})
  await writeFile(path.join(options.dir, 'hello.txt'), `${options.ref} ${uniqueName('content')}\n`)
  await writeFile(path.join(options.dir, 'padding.bin'), randomBytes(options.padding ?? 0))
  await writeFile(path.join(options.dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt padding.bin /\n')
  const ref = options.cleanup.image(options.ref)
  await docker(['build', '-q', '-t', ref, options.dir], {timeout: 120_000})
  return {id: await hostImageId(ref), inDockerDaemon: true, ref, save: () => Promise.reject(new Error('not expected'))}
}
