/**
 * The candidate a mistyped name most likely meant, or undefined when none is close. Close means a small edit
 * distance (ignoring case), or the candidate is the name behind a tool prefix: kind, k3d and others name contexts
 * "kind-dev", "k3d-x", and users often type only the cluster part.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase()
  const limit = Math.max(1, Math.floor(wanted.length / 3))
  let best: {candidate: string; distance: number} | undefined
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase()
    const distance = editDistance(wanted, lower)
    if (distance > limit && !lower.endsWith(`-${wanted}`)) continue
    if (best === undefined || distance < best.distance) best = {candidate, distance}
  }

  return best?.candidate
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution)
    }

    previous = current
  }

  return previous[b.length]!
}
