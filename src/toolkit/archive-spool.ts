/**
 * A saved image written to a file as it streams in, without the layers every node already holds. Docker
 * stages a whole save before it sends the first byte, so the save itself cannot be shortened; what a load
 * can spare is writing those layers to disk and reading them back (about a second for a 700 MB layer).
 */
import {open} from 'node:fs/promises'

import {END_OF_ARCHIVE, padding, readTarStream, type TarIndexEntry} from '../util/tar.js'

/** The archive as written: its entries, where a left-out entry has offset -1 (its size is what the save held). */
export interface SpooledArchive {
  entries: Map<string, TarIndexEntry>
  /** How many entries were left out. */
  leftOut: number
  /** Bytes written. */
  bytes: number
}

/** Writes are gathered to about this size: one system call per 64 kB pipe read costs more than the copy. */
const BATCH = 1 << 20

/**
 * Copies the tar stream `source` into `file` entry by entry, headers and content unchanged, leaving out the
 * content of the regular files `leaveOut` names (asked once per file entry, before its content is read).
 * Reads `source` to its end; throws a plain Error naming `label` when it is not a tar archive.
 */
export async function spoolArchive(
  source: AsyncIterable<Buffer>,
  file: string,
  label: string,
  leaveOut: (name: string, size: number) => Promise<boolean>,
): Promise<SpooledArchive> {
  const handle = await open(file, 'w')
  const entries = new Map<string, TarIndexEntry>()
  let leftOut = 0
  let written = 0
  let batch: Buffer[] = []
  let batched = 0
  const flush = async () => {
    if (batched === 0) return
    await handle.writev(batch, written)
    written += batched
    batch = []
    batched = 0
  }

  const write = async (buffer: Buffer) => {
    batch.push(buffer)
    batched += buffer.length
    if (batched >= BATCH) await flush()
  }

  try {
    for await (const entry of readTarStream(source, label)) {
      const {header, linkname, size, type} = entry
      const name = entry.name.replace(/^\.\//, '')
      const regular = type === '0' || type === '7'
      if (regular && size > 0 && (await leaveOut(name, size))) {
        entries.set(name, {linkname, name, offset: -1, size, type})
        leftOut++
        continue
      }

      await write(header)
      entries.set(name, {linkname, name, offset: written + batched, size, type})
      for await (const chunk of entry.content()) await write(chunk)
      await write(padding(size))
    }

    await write(END_OF_ARCHIVE)
    await flush()
    return {bytes: written, entries, leftOut}
  } finally {
    await handle.close()
  }
}
