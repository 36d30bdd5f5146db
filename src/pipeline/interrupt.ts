import {KudevError} from '../output/errors.js'

/**
 * Runs `work` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts. Subprocesses started with the signal
 * are killed (exec does it), and the run ends as `interrupted` (exit 130) once they are gone, so no child
 * outlives kudev and no half-built image gets a tag. A second signal exits at once.
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
    if (received) throw interrupted(received)
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function interrupted(name: NodeJS.Signals): KudevError {
  return new KudevError('interrupted', `interrupted by ${name}; stopped what was running`, {
    hint: 'nothing was tagged from the interrupted step; run the command again to continue',
  })
}
