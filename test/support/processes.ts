import {execa} from 'execa'

/** Command lines of running processes matching `pattern` (pgrep -f), the pgrep itself excluded. */
export async function processes(pattern: string): Promise<string[]> {
  const {stdout} = await execa('pgrep', ['-a', '-f', pattern], {reject: false})
  return stdout.split('\n').filter((line) => line !== '' && !line.includes('pgrep'))
}

/** Polls until `condition` holds or `timeoutMs` has passed; says whether it held (checked once more at the end). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  return condition()
}

/** Polls until `condition` holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  if (!(await until(condition, timeoutMs))) throw new Error('timed out waiting')
}
