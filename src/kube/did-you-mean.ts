import {closest} from '../util/suggest.js'

/**
 * The context a mistyped name most likely meant: a close spelling, else the context named after the cluster
 * behind a tool prefix — kind, k3d and others name contexts "kind-dev", "k3d-x", and users often type "dev".
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const names = [...candidates]
  const suffix = `-${name.toLowerCase()}`
  return closest(name, names) ?? names.find((candidate) => candidate.toLowerCase().endsWith(suffix))
}
