/** What docker answers before every build, on top of kudev/testing's fake toolkit. */
import type {Answer} from 'kudev/testing'

import {STDERR_NO_BUILDX_28, VERSION_JSON_28} from './texts.js'

/** Answers `docker version` as CLI 28 with a reachable engine, and `docker buildx version` as missing. */
export function engineAnswers([, sub]: string[]): Answer | undefined {
  if (sub === 'version') return {stdout: `${VERSION_JSON_28}\n`}
  if (sub === 'buildx') return {exitCode: 1, stderr: STDERR_NO_BUILDX_28}
  return undefined
}
