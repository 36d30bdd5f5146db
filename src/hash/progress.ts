/**
 * A one-line progress view for long hashes: on a terminal only, and only once hashing has taken more
 * than a second, so quick runs print nothing; cleared at the end. Writes synchronously (terminal writes
 * are synchronous in Node), because the walk calls it from synchronous loops.
 */
import type {LogStream} from '../output/logger.js'
import {formatBytes} from '../output/units.js'
import type {Progress} from './collect.js'

const DELAY_MS = 1000
const REDRAW_MS = 100

export interface HashProgressView {
  update(progress: Progress): void
  clear(): void
}

export function hashProgressView(stream: LogStream = process.stderr, now: () => number = Date.now): HashProgressView {
  if (!stream.isTTY) return {clear() {}, update() {}}
  const started = now()
  let drawnAt = 0
  return {
    clear() {
      if (drawnAt > 0) stream.write('\r\u001B[2K')
    },
    update(progress) {
      const time = now()
      if (time - started < DELAY_MS || time - drawnAt < REDRAW_MS) return
      drawnAt = time
      stream.write(
        `\r\u001B[2Khashing the build context: ${progress.entries.toLocaleString('en-US')} entries, ${formatBytes(progress.bytes)}`,
      )
    },
  }
}
