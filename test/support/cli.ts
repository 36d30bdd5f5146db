import {Config} from '@oclif/core'
import {execa} from 'execa'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const fixtures = join(repoRoot, 'test', 'fixtures')
const bin = join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Environment for a CLI run that cannot see the developer's own kudev data, kubeconfig or colours. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: join(tmpdir(), 'kudev-test-no-home'),
    KUBECONFIG: '',
    KUDEV_DATA_DIR: join(tmpdir(), 'kudev-test-no-data'),
    KUDEV_LOG_LEVEL: '',
    NO_COLOR: '1',
    OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    ...extra,
  }
}

/** Runs the built CLI as a user would: a real process, real stdout and stderr, real exit code. */
export async function runCli(
  args: string[],
  options: {cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'pipe'} = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: isolatedEnv(options.env),
    reject: false,
    // 'pipe' leaves stdin open and unanswered, as a script's pipe: a CLI that asked would wait on it.
    stdin: options.stdin ?? 'ignore',
  })
  return {exitCode: result.exitCode ?? -1, stderr: result.stderr, stdout: result.stdout}
}

/**
 * A data folder in which the named plugins are linked, as `kudev plugins link` would record them: each from
 * test/fixtures/plugins/<name>, or from the folder `roots` gives for it.
 */
export async function dataDirWithPlugins(
  names: string[],
  roots: Record<string, string> = {},
): Promise<{dir: string; remove: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'kudev-data-'))
  const plugins = names.map((name) => ({name, root: roots[name] ?? join(fixtures, 'plugins', name), type: 'link'}))
  await writeFile(join(dir, 'package.json'), JSON.stringify({oclif: {plugins, schema: 1}, private: true}))
  return {dir, remove: () => rm(dir, {force: true, recursive: true})}
}

/** An oclif Config loaded in this process with the named fixture plugins linked (KUDEV_DATA_DIR set only while loading). */
export async function oclifWithPlugins(
  names: string[],
  roots: Record<string, string> = {},
): Promise<{oclif: Config; remove: () => Promise<void>}> {
  const data = await dataDirWithPlugins(names, roots)
  const saved = process.env.KUDEV_DATA_DIR
  process.env.KUDEV_DATA_DIR = data.dir
  try {
    return {oclif: await Config.load({root: repoRoot}), remove: data.remove}
  } finally {
    if (saved === undefined) delete process.env.KUDEV_DATA_DIR
    else process.env.KUDEV_DATA_DIR = saved
  }
}
