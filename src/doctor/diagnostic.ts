import {isKudevError} from '../output/errors.js'
import type {Diagnostic, Finding} from '../plugins/contract.js'

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
