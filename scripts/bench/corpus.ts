// The benchmark corpus: ../shared/bench/webapp installed with `npm ci --ignore-scripts` (about 45,000 files,
// 780 MB), kept between runs under KUDEV_BENCH_DIR (default /tmp/kudev-bench) since installing takes minutes.
import {spawnSync, type SpawnSyncOptions} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const kudevBin = join(repoRoot, 'bin', 'run.js')

export function webappCorpus(): string {
  const dir = join(process.env.KUDEV_BENCH_DIR ?? '/tmp/kudev-bench', 'webapp')
  const source = join(repoRoot, '..', 'shared', 'bench', 'webapp')
  mkdirSync(dir, {recursive: true})
  if (!existsSync(join(dir, 'node_modules', '.package-lock.json'))) {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(source, file), join(dir, file))
    process.stderr.write(`installing the corpus in ${dir} (npm ci --ignore-scripts)…\n`)
    run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {cwd: dir})
  }

  // An app as the issues describe it: its dependencies in one layer, its small source in the next.
  mkdirSync(join(dir, 'src'), {recursive: true})
  if (!existsSync(join(dir, 'src', 'app.js'))) writeFileSync(join(dir, 'src', 'app.js'), "console.log('app')\n")
  writeFileSync(join(dir, '.dockerignore'), '.git\n')
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY node_modules /app/node_modules\nCOPY src /app/src\n')
  writeFileSync(
    join(dir, '.kudev.yaml'),
    'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: webapp}\nspec: {imageName: kudev-bench/webapp}\n',
  )
  return dir
}

export function run(file: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  })
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return String(result.stdout)
}

/** Wall time of a whole process, in ms. */
export function timeProcess(file: string, args: string[], options: SpawnSyncOptions = {}): number {
  const started = process.hrtime.bigint()
  run(file, args, options)
  return Number(process.hrtime.bigint() - started) / 1e6
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${run('docker', ['version', '--format', 'Docker {{.Server.Version}}']).trim()}`
}
