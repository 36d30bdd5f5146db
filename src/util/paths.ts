import path from 'node:path'

/** `file` relative to `root`, with `/` as separator whatever the platform (as build contexts name entries). */
export function relativePosix(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/')
}
