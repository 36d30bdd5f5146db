/**
 * Which reported paths start a watch cycle: files the tag covers (in the build context and not ignored), and
 * the files that decide what the tag covers (.kudev.yaml, the Dockerfile, the ignore files).
 */
import {lstatSync} from 'node:fs'
import path from 'node:path'

import type {ProjectConfig} from '../config/index.js'
import type {ContextFilter, Decision} from '../context/filter.js'
import {relativePosix} from '../util/paths.js'

export interface Triggers {
  /** Paths relative to the build context (POSIX), in the context: the hash checks these. */
  context: Set<string>
  /** Build inputs besides the context's files that changed (absolute): the next cycle hashes everything. */
  inputs: Set<string>
}

/** The files outside the context's entries whose change changes the tag or what it covers. */
export function inputFiles(project: ProjectConfig): Set<string> {
  return new Set([
    project.file,
    project.dockerfile,
    `${project.dockerfile}.dockerignore`,
    path.join(project.buildContext, '.dockerignore'),
  ])
}

/** Sorts reported absolute paths into `into`; paths that matter to neither are dropped. */
export function sortPaths(
  paths: Iterable<string>,
  project: ProjectConfig,
  filter: ContextFilter,
  into: Triggers,
  inputs = inputFiles(project),
): void {
  const root = project.buildContext
  for (const changed of paths) {
    if (inputs.has(changed)) into.inputs.add(changed)
    const posix = relativePosix(root, changed)
    if (posix === '..' || posix.startsWith('../') || path.isAbsolute(posix)) continue
    if (posix === '' || inContext(posix, changed, filter)) into.context.add(posix)
  }
}

/** Whether the path is an entry of the context, or was one (a removed path is tried as a file and a folder). */
function inContext(relative: string, absolute: string, filter: ContextFilter): boolean {
  const parts = relative.split('/')
  let parent: Decision | undefined
  for (let depth = 1; depth < parts.length; depth++) {
    const folder = parts.slice(0, depth).join('/')
    const decision = filter.decide(folder, true, parent)
    // Nothing below an excluded folder is in, unless a `!` rule may take something back.
    if (decision.excluded && !filter.mustDescend(folder, decision)) return false
    parent = decision
  }

  let type: boolean[]
  try {
    type = [lstatSync(absolute).isDirectory()]
  } catch {
    type = [false, true]
  }

  return type.some((isDir) => !filter.decide(relative, isDir, parent).excluded)
}
