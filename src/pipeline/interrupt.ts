import {KudevError, type KudevErrorOptions} from '../output/errors.js'

/** Errors in which the work itself says how the signal ended it: interruptible() throws them as they are. */
const ownAccounts = new WeakSet<Error>()

/**
 * Runs `work` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts. Subprocesses started with the signal
 * are killed (exec does it), and the run ends as `interrupted` (exit 130) once they are gone, so no child
 * outlives kudev and no half-built image gets a tag. A second signal exits at once. Whatever `work` throws
 * then is replaced by that interruption, unless it is an `interruptedAs` error: the work's own words.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  let received: NodeJS.Signals | undefined
  const onSignal = (name: NodeJS.Signals) => {
    if (received) process.exit(130)
    received = name
    controller.abort(new KudevError('interrupted', `interrupted by ${name}`))
  }

  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const result = await work(controller.signal)
    if (received) throw interrupted(received)
    return result
  } catch (error) {
    if (received) throw ownAccounts.has(error as Error) ? error : interrupted(received)
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * `question` (a plugin's inspect, has or check: they take no signal, and nothing is left half-done by not
 * waiting for them), given up when `signal` aborts: Ctrl-C is not held up by an engine that does not answer.
 * Its program is stopped when kudev exits (exec's cleanup).
 */
export function unlessInterrupted<T>(question: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, {once: true})
    question.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * The interruption in the words of the work that the signal ended, which knows better than interruptible()
 * what was stopped (a watch waiting for changes stopped nothing).
 */
export function interruptedAs(message: string, options?: KudevErrorOptions): KudevError {
  const error = new KudevError('interrupted', message, options)
  ownAccounts.add(error)
  return error
}

function interrupted(name: NodeJS.Signals): KudevError {
  return new KudevError('interrupted', `interrupted by ${name}; stopped what was running`, {
    hint: 'nothing was tagged from the interrupted step; run the command again to continue',
  })
}
