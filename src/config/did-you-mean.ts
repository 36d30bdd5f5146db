import {closest} from '../util/suggest.js'

/**
 * The field an unknown key most likely meant: a typo or case slip (`imagename`, `imgaeName`), else
 * a field the key is the start of, since people abbreviate long names (`dockerfile` for `dockerfilePath`).
 */
export function didYouMean(key: string, fields: readonly string[]): string | undefined {
  const start = key.toLowerCase()
  return (
    closest(key, fields) ??
    (start.length >= 3 ? fields.find((field) => field.toLowerCase().startsWith(start)) : undefined)
  )
}
