/**
 * Command lines a command cannot take (a missing argument, one too many, an unknown flag) as kudev's usage
 * errors (exit 2): one line in plain words naming what is wrong, and a hint with the command's help.
 */
import {KudevError} from '../output/errors.js'
import {closest} from '../util/suggest.js'

/** What oclif knows of an argument, as a command class, the manifest and a parse error all carry it. */
export interface ArgDefinition {
  name: string
  description?: string
  required?: boolean
}

export interface FlagDefinition {
  name: string
  aliases?: string[]
  allowNo?: boolean
  hidden?: boolean
}

export interface CommandDefinition {
  /** oclif's id: plugins:install. */
  id: string
  args?: Record<string, ArgDefinition>
  flags?: Record<string, FlagDefinition>
}

interface OclifParseError {
  /** RequiredArgsError: the missing arguments; UnexpectedArgsError: the extra words. */
  args?: unknown[]
  /** NonExistentFlagsError: the flags as typed. */
  flags?: unknown[]
  parse?: {input?: {args?: Record<string, ArgDefinition>; flags?: Record<string, FlagDefinition>}}
}

/**
 * The usage error for one of oclif's parse errors about arguments or unknown flags; undefined for anything
 * else. Recognised by shape, not class: a plugin's commands may bring their own copy of @oclif/core.
 */
export function usageError(thrown: unknown, id: string | undefined): KudevError | undefined {
  const {args, flags, parse} = (thrown ?? {}) as OclifParseError
  if (id === undefined || !parse?.input) return undefined
  const command = {args: parse.input.args, flags: parse.input.flags, id}
  if (Array.isArray(flags) && flags.length > 0 && flags.every((flag) => typeof flag === 'string'))
    return unknownFlags(command, flags)
  if (!Array.isArray(args) || args.length === 0) return undefined
  if (args.every((arg) => typeof arg === 'string')) return extraArguments(command, args)
  if (args.every((arg) => typeof (arg as ArgDefinition | undefined)?.name === 'string'))
    return missingArguments(command, args as ArgDefinition[])
  return undefined
}

/** `kudev load` without its image: `kudev load needs an image reference, e.g. kudev load myapp:kudev-1a2b3c4d`. */
export function missingArguments(command: CommandDefinition, missing: ArgDefinition[]): KudevError {
  const name = commandName(command)
  const described = missing.map(describeArg)
  const examples = Object.values(command.args ?? {})
    .filter((arg) => arg.required)
    .map((arg) => describeArg(arg).example)
  const example = examples.length > 0 && examples.every(Boolean) ? `, e.g. ${name} ${examples.join(' ')}` : ''
  return new KudevError('usage', `${name} needs ${joinAnd(described.map((arg) => arg.what))}${example}`, {
    data: {command: spoken(command), missing: missing.map((arg) => arg.name)},
    hint: `see ${name} --help`,
  })
}

/**
 * `kudev build extra-arg`: words a command does not take. A word that names one of its flags but for the
 * dashes (`kudev build watch`) is most likely that flag.
 */
export function extraArguments(command: CommandDefinition, extra: string[]): KudevError {
  const name = commandName(command)
  const quoted = extra.map((word) => JSON.stringify(word))
  const takes = Object.values(command.args ?? {}).map((arg) => describeArg(arg).what)
  let message: string
  if (takes.length > 0) message = `${name} takes only ${joinAnd(takes)}, not ${quoted.join(', ')}`
  else if (extra.length === 1) message = `${name} takes no argument ${quoted[0]}`
  else message = `${name} takes no arguments: ${quoted.join(', ')}`
  const flag = extra.length === 1 ? flagFor(extra[0]!, command) : undefined
  return new KudevError('usage', message, {
    data: {command: spoken(command), unexpected: extra, ...(flag ? {suggestion: flag} : {})},
    hint: flag ? `did you mean ${flag}? (see ${name} --help)` : `flags start with --; see ${name} --help`,
  })
}

/** `kudev build --verbos`: the flag as typed, and the closest of the command's flags. */
export function unknownFlags(command: CommandDefinition, typed: string[]): KudevError {
  const name = commandName(command)
  const flags = typed.map((flag) => flag.split('=')[0]!)
  // One letter after one dash is a short flag: every other letter is one edit away, so no guess.
  const flag = flags.length === 1 && !/^-[^-]$/.test(flags[0]!) ? flagFor(flags[0]!, command) : undefined
  const message = flags.length === 1 ? `${name} has no flag ${flags[0]}` : `${name} has no flags ${joinAnd(flags)}`
  return new KudevError('usage', message, {
    data: {command: spoken(command), unknownFlags: flags, ...(flag ? {suggestion: flag} : {})},
    hint: flag ? `did you mean ${flag}? (${name} --help lists every flag)` : `${name} --help lists every flag`,
  })
}

function commandName(command: CommandDefinition): string {
  return `kudev ${spoken(command)}`
}

/** The id as typed: plugins install. */
function spoken(command: CommandDefinition): string {
  return command.id.replaceAll(':', ' ')
}

/** "Image reference, e.g. myapp:kudev-1a2b3c4d" → "an image reference" and "myapp:kudev-1a2b3c4d". */
function describeArg(arg: ArgDefinition): {example?: string; what: string} {
  const [what = '', example] = (arg.description ?? '')
    .trim()
    .replace(/\.$/, '')
    .split(/,?\s*e\.g\.\s*/, 2)
  if (!what) return {example, what: `the ${arg.name.toUpperCase()} argument`}
  // Leave an acronym's capitals ("URL of …").
  const lower = /^[A-Z][a-z]/.test(what) ? what[0]!.toLowerCase() + what.slice(1) : what
  // An acronym is read letter by letter: "an SSH key", "a URL".
  const vowelSound = /^[A-Z]{2}/.test(lower) ? /^[AEFHILMNORSX]/.test(lower) : /^[aeiou]/i.test(lower)
  return {example, what: `${vowelSound ? 'an' : 'a'} ${lower}`}
}

/** The command's visible flag a word most likely meant, with its dashes: exact names first. */
function flagFor(word: string, command: CommandDefinition): string | undefined {
  const bare = word.replace(/^-+/, '')
  const names = Object.values(command.flags ?? {})
    .filter((flag) => !flag.hidden)
    .flatMap((flag) => [flag.name, ...(flag.aliases ?? []), ...(flag.allowNo ? [`no-${flag.name}`] : [])])
  // Else a flag that the word is a whole part of, when only one is: --context is --kube-context.
  const containing = names.filter((name) => name.split('-').includes(bare))
  const name = names.includes(bare)
    ? bare
    : (closest(bare, names) ?? (containing.length === 1 ? containing[0] : undefined))
  return name === undefined ? undefined : `--${name}`
}

function joinAnd(words: string[]): string {
  return words.length < 2 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`
}
