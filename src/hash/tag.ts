/** `kudev-<first 8 hex of the digest>`; the builder keeps the full digest as an image label. */
export const TAG_PREFIX = 'kudev-'
const SHORT_HEX = 8

export interface TagOptions {
  /** `--build-timestamp`: append the time (UTC) so each build gets its own tag. */
  buildTimestamp?: Date
}

export function imageTag(digest: string, options: TagOptions = {}): string {
  const tag = `${TAG_PREFIX}${digest.slice(0, SHORT_HEX)}`
  return options.buildTimestamp === undefined ? tag : `${tag}-${utcStamp(options.buildTimestamp)}`
}

/** YYYYMMDD-HHMMSS in UTC. */
function utcStamp(date: Date): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`
}
