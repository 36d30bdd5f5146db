import type {Config, Hook} from '@oclif/core'

import {extraArguments} from '../cli/usage.js'
import {KudevError} from '../output/errors.js'
import {closest} from '../util/suggest.js'

/**
 * `kudev biuld`: oclif runs this hook only when no command matches, so it costs nothing at startup. Off a
 * terminal (scripts, CI, a pipe) it fails at once with the closest command in the hint, exit 127; on a
 * terminal it asks whether to run the closest command instead. `kudev build extra-arg` lands here too
 * (oclif joins the words before the first flag into the id when a command takes no arguments): a usage
 * error, exit 2.
 */
const hook: Hook.CommandNotFound = async function ({argv = [], config, id}) {
  const {rest, suggestion, typed} = nearestCommand(config, id)
  const command = config.findCommand(typed.replaceAll(' ', ':'))
  if (command && rest.length > 0) throw extraArguments(command, rest)
  if (suggestion && interactive()) {
    if (await confirm(`"${typed}" is not a kudev command. Run "${suggestion}" instead? [Y/n] `)) {
      return config.runCommand(suggestion.replaceAll(' ', ':'), [...rest, ...argv])
    }

    throw notACommand(typed, undefined)
  }

  throw notACommand(typed, suggestion)
}

export default hook

export function notACommand(typed: string, suggestion: string | undefined): KudevError {
  return new KudevError('notFound', `"${typed}" is not a kudev command`, {
    data: {command: typed, ...(suggestion ? {suggestion} : {})},
    hint: suggestion
      ? `did you mean "${suggestion}"? (kudev help lists every command)`
      : 'kudev help lists every command',
  })
}

/**
 * What the user typed as the command and the visible command they most likely meant. oclif joins the
 * leading words of the command line into the id (`kudev biuld foo` → biuld:foo): the command ends at the
 * first word that does not lead to a longer command id (oclif makes every command a topic too, so topics
 * cannot tell), and the words after it are arguments.
 */
export function nearestCommand(
  config: Pick<Config, 'commands'>,
  id: string,
): {rest: string[]; suggestion?: string; typed: string} {
  const words = id.split(':')
  const hasSubcommands = (prefix: string) => config.commands.some((command) => command.id.startsWith(`${prefix}:`))
  let known = 0
  while (known < words.length - 1 && hasSubcommands(words.slice(0, known + 1).join(':'))) known++
  const typed = words.slice(0, known + 1).join(' ')
  // Below a topic only the mistyped word counts: the topic's words would widen the distance allowed.
  const topic = known > 0 ? `${words.slice(0, known).join(' ')} ` : ''
  const candidates = config.commands
    .filter((command) => !command.hidden)
    .flatMap((command) => [command.id, ...command.aliases])
    .map((candidate) => candidate.replaceAll(':', ' '))
    .filter((candidate) => candidate.startsWith(topic))
    .map((candidate) => candidate.slice(topic.length))
  const nearest = closest(words[known]!, new Set(candidates))
  return {rest: words.slice(known + 1), suggestion: nearest && topic + nearest, typed}
}

/** Both ends on a terminal and not CI: someone can answer a question. */
export function interactive(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && !['', '0', 'false'].includes(env.CI.toLowerCase())
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && !ci)
}

/** Asks on stderr; Enter or y/yes is yes. No answer in 10 s is no. */
async function confirm(question: string): Promise<boolean> {
  const {createInterface} = await import('node:readline/promises')
  const prompt = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await prompt.question(question, {signal: AbortSignal.timeout(10_000)})
    return /^(y|yes)?$/i.test(answer.trim())
  } catch {
    process.stderr.write('\n')
    return false
  } finally {
    prompt.close()
  }
}
