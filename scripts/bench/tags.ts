// The image tags a benchmark makes: every edit it times builds a new kudev-<hash> tag, and hundreds piled up
// run after run. A benchmark records each tag it names (kudev printed it, or it ran `docker build -t`) and
// removes them when it ends, failed or not; a tag that existed before it started was not its own and stays.
import {spawnSync} from 'node:child_process'

import {run} from './corpus.js'

export class BenchTags {
  private readonly before: Set<string>
  private readonly made = new Set<string>()

  /** Notes the tags `repository` has now: those are left alone. */
  constructor(repository: string) {
    const listed = run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository])
    this.before = new Set(listed.split('\n').filter(Boolean))
  }

  /** A tag the benchmark made (or may have made): removed at the end unless it was there before. */
  add(ref: string | undefined): void {
    if (ref && !this.before.has(ref)) this.made.add(ref)
  }

  /** Untags what this run made (the image goes with its last tag); a tag already gone is no failure. */
  remove(): void {
    if (this.made.size === 0) return
    const refs = [...this.made]
    this.made.clear()
    process.stderr.write(`removing the ${refs.length} image tag(s) this run made\n`)
    const removed = spawnSync('docker', ['image', 'rm', ...refs], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const problems = removed.stderr
      .split('\n')
      .filter((line) => line && !/No such image/i.test(line))
      .join('\n')
    if (problems) process.stderr.write(`${problems}\n`)
  }
}
