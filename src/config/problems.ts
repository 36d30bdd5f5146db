import {KudevError} from '../output/errors.js'

/** One thing wrong with a .kudev.yaml, pinned to the place in the file where it can be fixed. */
export interface Problem {
  file: string
  /** 1-based. */
  line: number
  /** 1-based. */
  col: number
  /** Field path such as `spec.env[1].name`; empty for problems with the document itself (syntax, empty file). */
  path: string
  message: string
  /** A valid value for the field, as it would be written in the file. */
  example?: string
  /** The line as written with a caret under the column (syntax errors), shown under the message. */
  excerpt?: string[]
}

/** `<file>:<line>:<col> <path>: <message> (e.g. <example>)`: the position prefix is what editors and terminals link. */
export function formatProblem(problem: Problem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`
  const what = problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`
  return problem.example === undefined ? `${where} ${what}` : `${where} ${what} (e.g. ${problem.example})`
}

export const FIELD_HINT =
  'fix the fields shown; every field, its type and its default is described in docs/configuration.md'

/** One error for the whole file, so the user sees every problem in one run instead of fixing them one at a time. */
export function configError(file: string, problems: Problem[], hint: string = FIELD_HINT): KudevError {
  const [first] = problems
  const single = problems.length === 1 && first !== undefined
  return new KudevError('config', single ? formatProblem(first) : `${file}: ${problems.length} problems`, {
    hint,
    details: single ? (first.excerpt ?? []) : problems.map(formatProblem),
    data: {file, problems},
  })
}
