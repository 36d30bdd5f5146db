import {stat} from 'node:fs/promises'
import path from 'node:path'

import {type Loc, type MapNode, parseYaml, type TreeNode, type TreePair} from './parse.js'
import {FIELD_HINT, type Problem} from './problems.js'
import {
  checkBuildArgName,
  checkDnsLabel,
  checkEnvName,
  checkExclusion,
  checkImageName,
  checkKubeContext,
  checkNetwork,
  checkRegistry,
  checkPlatform,
  checkPluginName,
  checkTarget,
  toEnvName,
  withoutTag,
} from './rules.js'
import {
  API_VERSION,
  DEFAULTS,
  ENV_FIELDS,
  type EnvVar,
  KIND,
  type KudevConfig,
  type ProjectConfig,
  METADATA_FIELDS,
  SPEC_FIELDS,
  TOP_FIELDS,
} from './schema.js'
import {didYouMean} from './did-you-mean.js'

interface Context {
  file: string
  problems: Problem[]
}

/** A mapping whose keys have been checked against the fields it accepts. */
interface Section {
  path: string
  /** Where a missing field is reported: the key that holds the mapping. */
  loc: Loc
  fields: Map<string, TreePair>
  /** Fields suggested for unknown keys: when one is missing, the did-you-mean problem already says how to fix it. */
  suggested: Set<string>
}

interface StringRule {
  example: string | ((bad: string) => string)
  check?: (value: string) => string | undefined
  required?: boolean
}

const SECTIONS: ReadonlyArray<[string, readonly string[]]> = [
  ['', TOP_FIELDS],
  ['metadata', METADATA_FIELDS],
  ['spec', SPEC_FIELDS],
]

function report(ctx: Context, fieldPath: string, loc: Loc, message: string, example?: string): void {
  ctx.problems.push({
    file: ctx.file,
    line: loc.line,
    col: loc.col,
    path: fieldPath,
    message,
    ...(example === undefined ? {} : {example}),
  })
}

const join = (parent: string, key: string): string => (parent === '' ? key : `${parent}.${key}`)

const isEmpty = (node: TreeNode | undefined): boolean =>
  node === undefined || (node.type === 'scalar' && node.value === null)

/** Unset string fields: no value, `~` or `""` all mean "use the default", as they did in the original kudev. */
const isUnset = (node: TreeNode | undefined): boolean => isEmpty(node) || (node?.type === 'scalar' && node.value === '')

function describe(node: TreeNode): string {
  if (node.type === 'map') return 'a mapping'
  if (node.type === 'seq') return 'a list'
  if (node.value === null) return 'no value'
  if (typeof node.value === 'string') return `the string ${JSON.stringify(node.value)}`
  return `the ${typeof node.value} ${node.text}`
}

function unknownField(
  key: string,
  known: readonly string[],
  sectionPath: string,
): {message: string; suggested?: string} {
  // A field written in the wrong section (`name` under spec) is a likelier mistake than a typo of a field here.
  for (const [other, fields] of SECTIONS) {
    const match = other === sectionPath ? undefined : fields.find((field) => field.toLowerCase() === key.toLowerCase())
    if (match !== undefined)
      return {
        message: `unknown field here; ${JSON.stringify(match)} belongs ${other === '' ? 'at the top level' : `under ${other}:`}`,
      }
  }
  const suggested = didYouMean(key, known)
  if (suggested !== undefined) return {message: `unknown field; did you mean ${JSON.stringify(suggested)}?`, suggested}
  return {
    message:
      known.length === 1
        ? `unknown field; the only field here is ${known[0]}`
        : `unknown field; expected one of ${known.join(', ')}`,
  }
}

function section(ctx: Context, node: MapNode, sectionPath: string, loc: Loc, known: readonly string[]): Section {
  const result: Section = {path: sectionPath, loc, fields: new Map(), suggested: new Set()}
  for (const pair of node.pairs) {
    if (known.includes(pair.key)) {
      result.fields.set(pair.key, pair)
      continue
    }
    const {message, suggested} = unknownField(pair.key, known, sectionPath)
    report(ctx, join(sectionPath, pair.key), pair.keyLoc, message)
    if (suggested !== undefined) result.suggested.add(suggested)
  }
  return result
}

function subsection(
  ctx: Context,
  parent: Section,
  key: string,
  known: readonly string[],
  example: string,
): Section | undefined {
  const pair = parent.fields.get(key)
  const fieldPath = join(parent.path, key)
  if (pair === undefined || isEmpty(pair.value)) {
    if (pair !== undefined || !parent.suggested.has(key))
      report(ctx, fieldPath, pair?.keyLoc ?? parent.loc, 'is required', example)
    return undefined
  }
  if (pair.value.type !== 'map') {
    report(ctx, fieldPath, pair.value.loc, `must be a mapping, got ${describe(pair.value)}`, example)
    return undefined
  }
  return section(ctx, pair.value, fieldPath, pair.keyLoc, known)
}

/** A string field; numbers and booleans are refused, since YAML may have changed them (`1.10` reads as 1.1). */
function readString(ctx: Context, parent: Section, key: string, rule: StringRule): string | undefined {
  const pair = parent.fields.get(key)
  const fieldPath = join(parent.path, key)
  const example = (bad: string): string => (typeof rule.example === 'string' ? rule.example : rule.example(bad))
  const node = pair?.value
  if (node === undefined || isUnset(node)) {
    if (rule.required && (node !== undefined || !parent.suggested.has(key))) {
      const message = node !== undefined && !isEmpty(node) ? 'must not be empty' : 'is required'
      report(ctx, fieldPath, node?.loc ?? parent.loc, message, example(''))
    }
    return undefined
  }
  if (node.type !== 'scalar' || typeof node.value !== 'string') {
    // `namespace: 123` is fixed by quoting; say so when the quoted text would be accepted.
    const quotedWorks = node.type === 'scalar' && rule.check?.(node.text) === undefined
    report(
      ctx,
      fieldPath,
      node.loc,
      `must be a string, got ${describe(node)}`,
      quotedWorks ? JSON.stringify(node.text) : example(''),
    )
    return undefined
  }
  const message = rule.check?.(node.value)
  if (message !== undefined) {
    report(ctx, fieldPath, node.loc, message, example(node.value))
    return undefined
  }
  return node.value
}

function readInteger(
  ctx: Context,
  parent: Section,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number | undefined {
  const node = parent.fields.get(key)?.value
  if (node === undefined || isEmpty(node)) return fallback
  const fieldPath = join(parent.path, key)
  const example = String(fallback)
  const quoted =
    node.type === 'scalar' && typeof node.value === 'string' && /^\d+$/.test(node.value) ? node.value : undefined
  if (quoted !== undefined && Number(quoted) >= min && Number(quoted) <= max) {
    report(
      ctx,
      fieldPath,
      node.loc,
      `must be a number, got the string ${JSON.stringify(quoted)}; remove the quotes`,
      quoted,
    )
    return undefined
  }
  if (node.type !== 'scalar' || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
    report(ctx, fieldPath, node.loc, `must be a whole number, got ${describe(node)}`, example)
    return undefined
  }
  if (node.value < min || node.value > max) {
    report(ctx, fieldPath, node.loc, `${node.text} is out of range; use a whole number from ${min} to ${max}`, example)
    return undefined
  }
  return node.value
}

/** A list field; no value means an empty list, which is how the original kudev wrote an unset env (`env: null`). */
function readList(ctx: Context, parent: Section, key: string, example: string): TreeNode[] {
  const node = parent.fields.get(key)?.value
  if (node === undefined || isEmpty(node)) return []
  if (node.type !== 'seq') {
    report(ctx, join(parent.path, key), node.loc, `must be a list, got ${describe(node)}`, example)
    return []
  }
  return node.items
}

function readEnv(ctx: Context, spec: Section): EnvVar[] {
  const env: EnvVar[] = []
  const seen = new Map<string, {path: string; loc: Loc}>()
  readList(ctx, spec, 'env', '[{name: LOG_LEVEL, value: debug}]').forEach((item, index) => {
    const itemPath = `${spec.path}.env[${index}]`
    if (item.type !== 'map') {
      report(
        ctx,
        itemPath,
        item.loc,
        `must be a mapping with name and value, got ${describe(item)}`,
        '{name: LOG_LEVEL, value: debug}',
      )
      return
    }
    const entry = section(ctx, item, itemPath, item.loc, ENV_FIELDS)
    const name = readString(ctx, entry, 'name', {
      required: true,
      check: checkEnvName,
      example: (bad) => (bad === '' ? 'LOG_LEVEL' : toEnvName(bad)),
    })
    const value = readEnvValue(ctx, entry)
    if (name === undefined) return
    const namePath = `${itemPath}.name`
    const nameLoc = entry.fields.get('name')?.value.loc ?? item.loc
    const first = seen.get(name)
    if (first === undefined) seen.set(name, {path: namePath, loc: nameLoc})
    else {
      const where = `${first.path} at line ${first.loc.line}, col ${first.loc.col}`
      report(ctx, namePath, nameLoc, `${JSON.stringify(name)} is already set by ${where}; set each variable once`)
    }
    if (value !== undefined) env.push({name, value})
  })
  return env
}

/** Kubernetes takes env values as strings only; `value: 3000` must be quoted, and no value means "". */
function readEnvValue(ctx: Context, entry: Section): string | undefined {
  const node = entry.fields.get('value')?.value
  if (node === undefined || isEmpty(node)) return ''
  if (node.type === 'scalar' && typeof node.value === 'string') return node.value
  const example = node.type === 'scalar' ? JSON.stringify(node.text) : '"debug"'
  report(ctx, `${entry.path}.value`, node.loc, `must be a string, got ${describe(node)}`, example)
  return undefined
}

function readExclusions(ctx: Context, spec: Section): string[] {
  const patterns: string[] = []
  readList(ctx, spec, 'buildContextExclusions', '["*.md", coverage/]').forEach((item, index) => {
    const itemPath = `${spec.path}.buildContextExclusions[${index}]`
    if (item.type !== 'scalar' || typeof item.value !== 'string') {
      const quoted = item.type === 'scalar' && item.value !== null ? JSON.stringify(item.text) : '"*.md"'
      report(ctx, itemPath, item.loc, `must be a string, got ${describe(item)}`, quoted)
      return
    }
    const message = item.value === '' ? 'must not be empty' : checkExclusion(item.value)
    if (message === undefined) patterns.push(item.value)
    else
      report(
        ctx,
        itemPath,
        item.loc,
        message,
        item.value === '' ? '"*.md"' : JSON.stringify(item.value.replaceAll('\\', '/')),
      )
  })
  return patterns
}

/** Build args reach the builder as text, so plain numbers and booleans are taken as written (`1.10` stays "1.10"). */
function readBuildArgs(ctx: Context, spec: Section): Record<string, string> {
  const node = spec.fields.get('buildArgs')?.value
  if (node === undefined || isEmpty(node)) return {}
  const argsPath = `${spec.path}.buildArgs`
  if (node.type !== 'map') {
    report(
      ctx,
      argsPath,
      node.loc,
      `must be a mapping of argument names to values, got ${describe(node)}`,
      '{VERSION: "1.0"}',
    )
    return {}
  }
  const entries: Array<[string, string]> = []
  for (const pair of node.pairs) {
    const argPath = join(argsPath, pair.key)
    const nameProblem = checkBuildArgName(pair.key)
    if (nameProblem !== undefined) {
      report(ctx, argPath, pair.keyLoc, nameProblem, 'VERSION')
      continue
    }
    const value = pair.value
    if (value.type !== 'scalar') report(ctx, argPath, value.loc, `must be a string, got ${describe(value)}`, '"1.0"')
    else if (value.value === null) report(ctx, argPath, value.loc, 'has no value; write "" for an empty one', '""')
    else entries.push([pair.key, typeof value.value === 'string' ? value.value : value.text])
  }
  // fromEntries defines own properties, so a `__proto__` argument stays an argument.
  return Object.fromEntries(entries)
}

/**
 * Checks a path field on disk and returns its absolute path. Relative paths start at the folder
 * holding .kudev.yaml, as in the original kudev; a value already reported as invalid is skipped.
 */
async function resolvePath(
  ctx: Context,
  dir: string,
  parent: Section,
  key: string,
  written: string | undefined,
  fallback: string,
  want: 'file' | 'folder',
  example: string,
): Promise<string | undefined> {
  const node = parent.fields.get(key)?.value
  const isDefault = written === undefined
  if (isDefault && !isUnset(node)) return undefined
  const fieldPath = join(parent.path, key)
  const shown = isDefault ? `no ${key} is given and the default ${JSON.stringify(fallback)}` : JSON.stringify(written)
  const absolute = path.resolve(dir, written ?? fallback)
  let problem: string | undefined
  try {
    const info = await stat(absolute)
    if (want === 'file' && !info.isFile()) problem = `${shown} is not a file (${absolute})`
    if (want === 'folder' && !info.isDirectory()) problem = `${shown} is not a folder (${absolute})`
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    problem =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `${shown} does not exist (looked for ${absolute})`
        : `${shown} cannot be read (${absolute}: ${code ?? String(error)})`
  }
  if (problem === undefined) return absolute
  report(ctx, fieldPath, isDefault || node === undefined ? parent.loc : node.loc, problem, example)
  return undefined
}

/** Every problem in the tree, plus the config when there are none. */
async function validateTree(root: MapNode, file: string): Promise<{problems: Problem[]; project?: ProjectConfig}> {
  const ctx: Context = {file, problems: []}
  const top = section(ctx, root, '', root.loc, TOP_FIELDS)
  const versionProblem = (value: string): string | undefined =>
    value === API_VERSION ? undefined : `${JSON.stringify(value)} is not supported; this kudev reads ${API_VERSION}`
  const kindProblem = (value: string): string | undefined =>
    value === KIND ? undefined : `${JSON.stringify(value)} is not a kind kudev knows; the only kind is ${KIND}`
  readString(ctx, top, 'apiVersion', {required: true, example: API_VERSION, check: versionProblem})
  readString(ctx, top, 'kind', {required: true, example: KIND, check: kindProblem})

  const metadata = subsection(ctx, top, 'metadata', METADATA_FIELDS, '{name: my-app}')
  const name = metadata && readString(ctx, metadata, 'name', {required: true, example: 'my-app', check: checkDnsLabel})

  const spec = subsection(ctx, top, 'spec', SPEC_FIELDS, '{imageName: my-app}')
  if (spec === undefined) return {problems: ctx.problems}
  const imageName = readString(ctx, spec, 'imageName', {
    required: true,
    check: checkImageName,
    example: (bad) => {
      const fixed = withoutTag(bad).toLowerCase()
      return bad !== '' && checkImageName(fixed) === undefined ? fixed : 'my-app'
    },
  })
  const dockerfilePath = readString(ctx, spec, 'dockerfilePath', {example: DEFAULTS.dockerfilePath})
  const namespace = readString(ctx, spec, 'namespace', {example: DEFAULTS.namespace, check: checkDnsLabel})
  const replicas = readInteger(ctx, spec, 'replicas', 0, 2_147_483_647, DEFAULTS.replicas)
  const localPort = readInteger(ctx, spec, 'localPort', 1, 65_535, DEFAULTS.localPort)
  const servicePort = readInteger(ctx, spec, 'servicePort', 1, 65_535, DEFAULTS.servicePort)
  const env = readEnv(ctx, spec)
  const kubeContext = readString(ctx, spec, 'kubeContext', {example: 'kind-dev', check: checkKubeContext})
  const buildContextExclusions = readExclusions(ctx, spec)
  const buildContext = readString(ctx, spec, 'buildContext', {example: DEFAULTS.buildContext})
  const buildArgs = readBuildArgs(ctx, spec)
  const target = readString(ctx, spec, 'target', {example: 'runtime', check: checkTarget})
  const platform = readString(ctx, spec, 'platform', {example: 'linux/amd64', check: checkPlatform})
  const builder = readString(ctx, spec, 'builder', {example: 'docker', check: checkPluginName})
  const loader = readString(ctx, spec, 'loader', {example: 'kind', check: checkPluginName})
  const network = readString(ctx, spec, 'network', {example: 'none', check: checkNetwork})
  const registry = readString(ctx, spec, 'registry', {example: 'localhost:5001', check: checkRegistry})

  const absoluteFile = path.resolve(file)
  const dir = path.dirname(absoluteFile)
  const [dockerfile, contextDir] = await Promise.all([
    resolvePath(
      ctx,
      dir,
      spec,
      'dockerfilePath',
      dockerfilePath,
      DEFAULTS.dockerfilePath,
      'file',
      './build/Dockerfile',
    ),
    resolvePath(ctx, dir, spec, 'buildContext', buildContext, DEFAULTS.buildContext, 'folder', '.'),
  ])

  if (
    ctx.problems.length > 0 ||
    name === undefined ||
    imageName === undefined ||
    replicas === undefined ||
    localPort === undefined ||
    servicePort === undefined ||
    dockerfile === undefined ||
    contextDir === undefined
  ) {
    return {problems: ctx.problems}
  }
  const config: KudevConfig = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {name},
    spec: {
      imageName,
      dockerfilePath: dockerfilePath ?? DEFAULTS.dockerfilePath,
      namespace: namespace ?? DEFAULTS.namespace,
      replicas,
      localPort,
      servicePort,
      env,
      buildContextExclusions,
      buildContext: buildContext ?? DEFAULTS.buildContext,
      buildArgs,
      // Optional fields stay absent rather than undefined-valued, so the config serialises as the user wrote it.
      ...(kubeContext === undefined ? {} : {kubeContext}),
      ...(target === undefined ? {} : {target}),
      ...(platform === undefined ? {} : {platform}),
      ...(builder === undefined ? {} : {builder}),
      ...(loader === undefined ? {} : {loader}),
      ...(network === undefined ? {} : {network}),
      ...(registry === undefined ? {} : {registry}),
    },
  }
  return {problems: [], project: {file: absoluteFile, dir, config, buildContext: contextDir, dockerfile}}
}

const byPosition = (a: Problem, b: Problem): number => a.line - b.line || a.col - b.col

/**
 * Parses and validates .kudev.yaml text. `file` names the file in problems and anchors relative
 * paths (dockerfilePath, buildContext), which are checked on disk.
 */
export async function checkConfig(
  text: string,
  file: string,
): Promise<{problems: Problem[]; hint: string; project?: ProjectConfig}> {
  const parsed = await parseYaml(text, file)
  if (!parsed.ok) return {problems: parsed.problems, hint: parsed.hint}
  const {problems, project} = await validateTree(parsed.root, file)
  return {problems: problems.sort(byPosition), hint: FIELD_HINT, ...(project === undefined ? {} : {project})}
}

/** Every problem with a .kudev.yaml text, in file order; empty when it is valid. Never throws for bad content. */
export async function validateConfig(text: string, file: string): Promise<Problem[]> {
  return (await checkConfig(text, file)).problems
}
