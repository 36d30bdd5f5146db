import {Transform} from 'node:stream'

/** A pass-through that reports how many bytes have gone through it, for progress lines. */
export function counting(onBytes: (bytes: number) => void): Transform {
  let bytes = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      onBytes(bytes)
      done(null, chunk)
    },
  })
}
