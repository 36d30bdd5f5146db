// npm run bench:discovery: what asking the cluster for an advertised registry (KEP-1755) costs `kudev up`.
// A small project, one kind-style node with a real containerd, and the stand-in HTTPS API server of the tests
// (test/support/api-server.ts) as the cluster's API server, advertising no registry (404, as most clusters).
// Interleaved in one run:
//  - no-op `kudev up` (the answer remembered from an earlier run) against no-op `kudev up --loader kind`, which
//    never asks. Goal (issue #14): at most 50 ms slower, medians.
//  - the first ask (kudev's cluster answers forgotten before each run), for information: the client library's
//    load and one request.
// Usage: npm run bench:discovery [-- --runs N]
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startApiServer, writeKubeconfig} from '../test/support/api-server.js'
import {createKindCluster, removeAll, standInEnv} from '../test/support/nodes.js'
import {kudevBin, machine, median, run, timeProcess} from './bench/corpus.js'

// The timed runs are synchronous (spawnSync), so the API server answers from a process of its own: this
// script started with --serve DIR, which prints the kubeconfig's path once it listens.
const serveFlag = process.argv.indexOf('--serve')
if (serveFlag !== -1) {
  const served = process.argv[serveFlag + 1]!
  const api = await startApiServer(served)
  console.log(await writeKubeconfig(api, served, {auth: 'certificate', context: process.argv[serveFlag + 2]!}))
  await new Promise(() => {})
}

const GOAL_MS = 50
const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 15 : Number(process.argv[runsFlag + 1])

const dir = mkdtempSync(join(tmpdir(), 'kudev-bench-discovery-'))
const project = join(dir, 'app')
run('mkdir', ['-p', project])
writeFileSync(join(project, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
writeFileSync(join(project, 'index.html'), 'hello\n')
writeFileSync(
  join(project, '.kudev.yaml'),
  'apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: kudev-bench/discovery}\n',
)

const cluster = await createKindCluster('kb-discovery')
const server = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', dir, `kind-${cluster.name}`],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
try {
  const cache = join(dir, 'cache')
  const [kubeconfig] = (await once(server.stdout, 'data')) as [Buffer]
  const env = standInEnv({KUBECONFIG: kubeconfig.toString().trim(), KUDEV_CACHE_DIR: cache, NO_COLOR: '1'})
  const up = (...args: string[]) => timeProcess(process.execPath, [kudevBin, 'up', '-q', ...args], {cwd: project, env})
  process.stderr.write('first up (not timed)…\n')
  up()
  const asking: number[] = []
  const recalled: number[] = []
  const never: number[] = []
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`run ${i + 1}/${runs}\n`)
    const ways = [
      () => recalled.push(up()),
      () => never.push(up('--loader', 'kind')),
      () => {
        rmSync(join(cache, 'clusters'), {force: true, recursive: true})
        asking.push(up())
      },
    ]
    for (let j = 0; j < ways.length; j++) ways[(i + j) % ways.length]!()
  }

  const extra = median(recalled) - median(never)
  console.log(`Machine: ${machine()}; ${runs} runs each, interleaved; one kind-style node, stand-in API server (404)\n`)
  console.log('| row | median ms | over `--loader kind` | goal |')
  console.log('| --- | ---: | ---: | --- |')
  console.log(`| no-op \`kudev up --loader kind\` (never asks) | ${median(never).toFixed(0)} | | |`)
  console.log(
    `| no-op \`kudev up\`, answer remembered | ${median(recalled).toFixed(0)} | ${extra.toFixed(0)} ms | ≤ ${GOAL_MS} ms ${extra <= GOAL_MS ? 'met' : 'MISSED'} |`,
  )
  console.log(
    `| no-op \`kudev up\`, first ask (client load + request) | ${median(asking).toFixed(0)} | ${(median(asking) - median(never)).toFixed(0)} ms | reported |`,
  )
  process.exitCode = extra <= GOAL_MS ? 0 : 1
} finally {
  server.kill()
  await removeAll()
  rmSync(dir, {force: true, recursive: true})
}
