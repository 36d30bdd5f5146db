/**
 * kudev's cache files (the tree snapshot, src/hash/snapshot.ts): where they live, and how they are read and
 * written so that a damaged or foreign file is never trusted and a crash or a concurrent run never leaves
 * half of one.
 *
 *   header  magic (8) | u32 version | u32 crc32(rest of the file) | u64 body bytes | …
 *
 * Little-endian. A file with another magic or version, a wrong length or checksum is ignored and rebuilt.
 * Writes go to a temp file of this process and are renamed over the old one, so concurrent runs each leave
 * a whole file (the last one wins).
 */
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {crc32} from 'node:zlib'

/** `KUDEV_CACHE_DIR`, else `$XDG_CACHE_HOME/kudev`, else `$HOME/.cache/kudev`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUDEV_CACHE_DIR) return path.resolve(env.KUDEV_CACHE_DIR)
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'kudev')
  return path.join(env.HOME || homedir(), '.cache', 'kudev')
}

/** A context's name in the cache folders: a hash of its absolute path. */
export function cacheKey(contextRoot: string): string {
  return createHash('sha256').update(path.resolve(contextRoot)).digest('hex').slice(0, 32)
}

/** Reads a cache file and checks its header; gives the reason when there is no usable file. */
export function readVerified(
  file: string,
  magic: string,
  version: number,
  headerBytes: number,
): {bytes: Uint8Array} | {problem: string} {
  let bytes: Uint8Array
  try {
    const fd = openSync(file, 'r')
    try {
      bytes = new Uint8Array(fstatSync(fd).size)
      let read = 0
      for (let chunk = 1; chunk > 0 && read < bytes.length; read += chunk)
        chunk = readSync(fd, bytes, read, bytes.length - read, null)
    } finally {
      closeSync(fd)
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return {problem: code === 'ENOENT' ? 'none yet' : `unreadable (${code ?? String(error)})`}
  }

  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (data.length < headerBytes || data.toString('latin1', 0, 8) !== magic)
    return {problem: `not a kudev ${magic} file`}
  const found = data.readUInt32LE(8)
  if (found !== version) return {problem: `version ${found}, this kudev writes ${version}`}
  if (data.readBigUInt64LE(16) !== BigInt(data.length - headerBytes)) return {problem: 'truncated'}
  if (crc32(data.subarray(16)) !== data.readUInt32LE(12)) return {problem: 'checksum mismatch'}
  return {bytes}
}

/** Temp file of this process + rename: readers see the old file or the new one, never a mix. */
export function writeAtomically(file: string, bytes: Uint8Array): void {
  makeFolder(path.dirname(file))
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temp, bytes)
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, {force: true})
    throw error
  }
}

/**
 * mkdir -p without `{recursive: true}`, which loops forever on Node 20 where a parent exists but refuses
 * new entries (KUDEV_CACHE_DIR under /proc).
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw error
    makeFolder(path.dirname(dir))
    mkdirSync(dir)
  }
}
