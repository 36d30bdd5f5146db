import type {Document, Node as YamlLibNode} from 'yaml'

import type {Problem} from './problems.js'
import {excerpt, explainSyntaxError} from './syntax.js'

export interface Loc {
  line: number
  col: number
}

/**
 * The YAML tree reduced to what validation needs, each node carrying its position, so the
 * validator neither depends on the `yaml` package nor loses track of where a value came from.
 */
export type TreeNode = MapNode | SeqNode | ScalarNode

export interface MapNode {
  type: 'map'
  loc: Loc
  pairs: TreePair[]
}

export interface TreePair {
  key: string
  keyLoc: Loc
  value: TreeNode
}

export interface SeqNode {
  type: 'seq'
  loc: Loc
  items: TreeNode[]
}

export interface ScalarNode {
  type: 'scalar'
  loc: Loc
  value: string | number | boolean | null
  /** The scalar as written (`1.10`, `0x1F`), which can differ from its parsed value. */
  text: string
}

export type ParsedYaml = {ok: true; root: MapNode} | {ok: false; problems: Problem[]; hint: string}

const INIT_HINT = 'run `kudev init` to write a starter .kudev.yaml'

export async function parseYaml(text: string, file: string): Promise<ParsedYaml> {
  // Loaded here rather than at the top: most CLI invocations never read the config, and startup time matters.
  const {LineCounter, Parser, parseDocument, isAlias, isMap, isScalar, isSeq} = await import('yaml')
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false})
  const locOf = (offset: number): Loc => {
    const {line, col} = lineCounter.linePos(offset)
    return {line: Math.max(line, 1), col: Math.max(col, 1)}
  }

  const [first] = doc.errors
  if (first !== undefined) {
    // One mistake trips several errors, and the parser recovers poorly: after the first, the rest are
    // mostly echoes of it, so only the first is reported, where it can be fixed.
    const tokens = [...new Parser().parse(text)]
    const report = explainSyntaxError(first, doc.errors, text, lineCounter, tokens)
    const problem: Problem = {
      file,
      ...locOf(report.offset),
      path: '',
      message: report.message,
      excerpt: excerpt(text, lineCounter, report.offset),
    }
    return {ok: false, problems: [problem], hint: report.hint}
  }

  // Aliases point at nodes converted before; reusing those keeps a file full of nested aliases from blowing up.
  const converted = new Map<YamlLibNode, TreeNode>()
  // An alias inside the node it names (`a: &x [*x]`) would make the tree endless.
  const open = new Set<unknown>()
  let cycle: {loc: Loc; name: string} | undefined
  const convert = (node: unknown, fallback: Loc): TreeNode => {
    const target = isAlias(node) ? node.resolve(doc as Document) : node
    if (target === null || typeof target !== 'object' || open.has(target)) {
      if (isAlias(node) && open.has(target))
        cycle ??= {loc: node.range ? locOf(node.range[0]) : fallback, name: node.source}
      return {type: 'scalar', loc: fallback, value: null, text: ''}
    }
    const known = converted.get(target as YamlLibNode)
    if (known) return known
    open.add(target)
    const range = (target as YamlLibNode).range
    const loc = range ? locOf(range[0]) : fallback
    let result: TreeNode
    if (isMap(target)) {
      const map: MapNode = {type: 'map', loc, pairs: []}
      for (const pair of target.items) {
        const keyLoc = isScalar(pair.key) && pair.key.range ? locOf(pair.key.range[0]) : loc
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
        map.pairs.push({key, keyLoc, value: convert(pair.value, keyLoc)})
      }
      result = map
    } else if (isSeq(target)) {
      result = {type: 'seq', loc, items: target.items.map((item) => convert(item, loc))}
    } else {
      const value: unknown = isScalar(target) ? target.value : null
      const primitive = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      const text = (isScalar(target) ? target.source : undefined) ?? (primitive ? String(value) : '')
      // Tagged oddities (!!binary and the like) are kept as the text the user wrote.
      let kept: string | number | boolean | null = text
      if (primitive) kept = value
      else if (value == null) kept = null
      result = {type: 'scalar', loc, value: kept, text}
    }
    open.delete(target)
    converted.set(target as YamlLibNode, result)
    return result
  }

  const start: Loc = {line: 1, col: 1}
  if (doc.contents === null) {
    const message = 'the file is empty; it needs apiVersion, kind, metadata and spec'
    return {ok: false, problems: [{file, ...start, path: '', message}], hint: INIT_HINT}
  }
  const root = convert(doc.contents, start)
  if (cycle) {
    const message = `the alias *${cycle.name} stands inside the value it repeats, which would never end; write the value out instead`
    const hint = 'a YAML alias (*name) may only repeat a value whose anchor (&name) is finished before it'
    return {ok: false, problems: [{file, ...cycle.loc, path: '', message}], hint}
  }
  if (root.type !== 'map') {
    const got = root.type === 'seq' ? 'a list' : `the value ${JSON.stringify(root.text)}`
    const message = `the top level must be a mapping with apiVersion, kind, metadata and spec, not ${got}`
    return {ok: false, problems: [{file, ...root.loc, path: '', message}], hint: INIT_HINT}
  }
  return {ok: true, root}
}
