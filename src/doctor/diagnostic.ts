import {isKudevError} from '../output/errors.js'
import type {Diagnostic} from '../plugins/contract.js'

/** What a passing check found: a summary, and a hint worth showing even so. */
export type Finding = string | {summary: string; hint?: string}

/**
 * One `kudev doctor` row from a check that throws when it fails: the failure's one-line message and hint,
 * as the user would see them from `kudev up`.
 */
export async function diagnostic(name: string, check: () => Promise<Finding>): Promise<Diagnostic> {
  try {
    const found = await check()
    return typeof found === 'string' ? {name, ok: true, summary: found} : {name, ok: true, ...found}
  } catch (error) {
    const hint = isKudevError(error) ? error.hint : undefined
    return {name, ok: false, summary: error instanceof Error ? error.message : String(error), ...(hint ? {hint} : {})}
  }
}
