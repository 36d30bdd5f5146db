/**
 * A name as container runtimes store it, normalised the way CRI does (reference.ParseDockerRef):
 * `app:1` → `docker.io/library/app:1`, `localhost:5000/app` → `localhost:5000/app:latest`. Docker's own
 * store lists `app:1`; containerd, the kubelet and minikube's list use the long form.
 */
export function normalizeRef(ref: string): string {
  const slash = ref.indexOf('/')
  const first = ref.slice(0, Math.max(slash, 0))
  const hasDomain = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost')
  const domain = !hasDomain || first === 'index.docker.io' ? 'docker.io' : first
  let rest = hasDomain ? ref.slice(slash + 1) : ref
  if (domain === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`
  if (!rest.slice(rest.lastIndexOf('/') + 1).includes(':') && !rest.includes('@')) rest += ':latest'
  return `${domain}/${rest}`
}
