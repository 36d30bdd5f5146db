/** What `kudev hash` prints besides the tag: the list of entries and the --explain report. */
import path from 'node:path'

import type {ExclusionReason} from '../context/filter.js'
import {printable} from '../context/walk.js'
import {formatBytes, formatCount} from '../output/units.js'
import type {HashResult} from './index.js'

/** Folders that are rarely meant to be in an image and make contexts big and hashes slow. */
const HEAVY_FOLDERS: Record<string, string> = {
  '.git': 'the image rarely needs the repository history',
  '.venv': 'the image should create its own virtualenv',
  __pycache__: 'Python recreates it',
  node_modules: 'the image should install its own dependencies',
}
const LARGEST_SHOWN = 10

/** `--list`: one entry per line, folders with a trailing `/`; names with control characters JSON-quoted. */
export function listLines(result: HashResult): string[] {
  return result.entries.map((entry) => printable(entry.type === 'dir' ? `${entry.path}/` : entry.path))
}

export interface FolderSize {
  path: string
  files: number
  bytes: number
}

export interface ExcludedReport {
  path: string
  isDir: boolean
  files: number
  bytes: number
  /** The rule as written, and where: `file:line`, or the spec.buildContextExclusions item. */
  pattern?: string
  source?: string
  where?: string
}

export interface Explanation {
  excluded: ExcludedReport[]
  excludedFiles: number
  excludedBytes: number
  /** The biggest folders one or two levels down, biggest first. */
  largestFolders: FolderSize[]
  hints: string[]
}

export function explain(result: HashResult): Explanation {
  const excluded = result.excluded.map(({bytes, files, isDir, path, reason}): ExcludedReport => {
    const report: ExcludedReport = {bytes, files, isDir, path}
    if (reason) {
      report.pattern = reason.pattern
      report.source = reason.source
      report.where = whereDecided(reason)
    }

    return report
  })

  const folders = new Map<string, FolderSize>()
  for (const entry of result.entries) {
    if (entry.type === 'dir' && entry.path.split('/').length <= 2)
      folders.set(entry.path, {bytes: 0, files: 0, path: entry.path})
  }

  for (const entry of result.entries) {
    if (entry.type !== 'file') continue
    const parts = entry.path.split('/')
    for (let depth = 1; depth <= Math.min(2, parts.length - 1); depth++) {
      const folder = folders.get(parts.slice(0, depth).join('/'))
      if (folder === undefined) continue
      folder.files++
      folder.bytes += entry.size
    }
  }

  return {
    excluded,
    excludedBytes: excluded.reduce((sum, item) => sum + item.bytes, 0),
    excludedFiles: excluded.reduce((sum, item) => sum + item.files, 0),
    hints: heavyFolderHints(result),
    largestFolders: [...folders.values()]
      .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
      .slice(0, LARGEST_SHOWN),
  }
}

/** Where the rule that excluded a path is written. */
function whereDecided(reason: ExclusionReason): string {
  if (reason.source === 'kudev') return "kudev's own configuration, never in the build context"
  return reason.field ? `${reason.field} in ${reason.file}` : `${reason.file}:${reason.line}`
}

/** A hint for each outermost .git, node_modules… that made it into the context. */
function heavyFolderHints(result: HashResult): string[] {
  const found = new Map<string, FolderSize>()
  let inside: string | undefined
  for (const entry of result.entries) {
    if (inside !== undefined && entry.path.startsWith(`${inside}/`)) {
      const folder = found.get(inside)!
      if (entry.type === 'file') {
        folder.files++
        folder.bytes += entry.size
      }

      continue
    }

    inside = undefined
    const name = entry.path.slice(entry.path.lastIndexOf('/') + 1)
    if (entry.type === 'dir' && Object.hasOwn(HEAVY_FOLDERS, name)) {
      inside = entry.path
      found.set(entry.path, {bytes: 0, files: 0, path: entry.path})
    }
  }

  const ignoreFile = result.ignoreFile ? path.basename(result.ignoreFile.path) : 'a .dockerignore'
  return [...found.values()].map((folder) => {
    const name = folder.path.slice(folder.path.lastIndexOf('/') + 1)
    const pattern = folder.path === name ? name : `**/${name}`
    return (
      `${folder.path}/ is in the build context (${formatCount(folder.files, 'file')}, ${formatBytes(folder.bytes)}): ` +
      `add \`${pattern}\` to ${ignoreFile} unless the image needs it (${HEAVY_FOLDERS[name]})`
    )
  })
}

export function renderExplanation(result: HashResult, explanation: Explanation): string {
  const {stats} = result
  const lines = [
    `Build context: ${result.root}`,
    `Ignore rules: ${result.ignoreFile ? result.ignoreFile.path : "kudev's defaults (no .dockerignore)"}` +
      (result.inputs.exclusions.length > 0
        ? `, plus ${formatCount(result.inputs.exclusions.length, 'spec.buildContextExclusions pattern')}`
        : ''),
    `Included: ${formatCount(stats.entries, 'entry', 'entries')} (${formatCount(stats.files, 'file')}, ` +
      `${formatCount(stats.dirs, 'folder')}, ${formatCount(stats.symlinks, 'symlink')}), ${formatBytes(stats.bytes)}`,
    `Excluded: ${formatCount(explanation.excluded.length, 'path')} (${formatCount(explanation.excludedFiles, 'file')}, ${formatBytes(explanation.excludedBytes)})`,
  ]
  const rows = explanation.excluded.map((item) => [
    printable(item.isDir ? `${item.path}/` : item.path),
    item.isDir ? formatCount(item.files, 'file') : '',
    formatBytes(item.bytes),
    item.pattern ?? '(no rule recorded)',
    item.where ?? '',
  ])
  lines.push(...table(rows))
  if (explanation.largestFolders.length > 0) {
    lines.push('Largest folders in the context:')
    lines.push(
      ...table(
        explanation.largestFolders.map((folder) => [
          `${printable(folder.path)}/`,
          formatCount(folder.files, 'file'),
          formatBytes(folder.bytes),
        ]),
      ),
    )
  }

  for (const hint of explanation.hints) lines.push(`Hint: ${hint}`)
  return lines.join('\n')
}

/** Left-aligned columns, two spaces apart, indented. */
function table(rows: string[][]): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)))
  return rows.map((row) => `  ${row.map((cell, index) => cell.padEnd(widths[index]!)).join('  ')}`.trimEnd())
}
