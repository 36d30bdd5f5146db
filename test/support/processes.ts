import {execa} from 'execa'

/** Command lines of running processes matching `pattern` (pgrep -f), the pgrep itself excluded. */
export async function processes(pattern: string): Promise<string[]> {
  const {stdout} = await execa('pgrep', ['-a', '-f', pattern], {reject: false})
  return stdout.split('\n').filter((line) => line !== '' && !line.includes('pgrep'))
}

/** Polls until `condition` holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
