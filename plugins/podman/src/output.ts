const TAIL = 15
// `STEP 2/4: COPY . /app/` (podman 4 and 5)
const STEP = /^STEP \d+\/\d+: (.*)$/
// `Error: building at STEP "RUN make": while running runtime: exit status 2`
const STEP_ERROR = /^Error: building at STEP "(.*?)": (.*)$/
const ERROR = /^Error: (.*)$/

export interface BuildFailure {
  /** The Dockerfile instruction that failed; undefined when podman failed before running any. */
  step?: string
  /** Podman's own reason, from its `Error:` line. */
  reason?: string
}

/** Follows `podman build` output, keeping what a failure report needs: the failing step, the reason and the last lines. */
export class BuildOutput {
  private readonly recent: string[] = []
  private lastStep?: string
  private error?: BuildFailure

  add(line: string): void {
    if (line.trim() === '') return
    this.recent.push(line)
    if (this.recent.length > TAIL) this.recent.shift()
    const step = STEP.exec(line)
    if (step) this.lastStep = step[1]
    const failed = STEP_ERROR.exec(line)
    const error = ERROR.exec(line)
    if (failed) this.error = {reason: failed[2], step: failed[1]}
    else if (error) this.error ??= {reason: error[1]}
  }

  get tail(): string[] {
    return [...this.recent]
  }

  /** The reason podman gave; without one, the last step it started (where it was killed or crashed). */
  failure(): BuildFailure {
    return this.error ?? {step: this.lastStep}
  }
}
