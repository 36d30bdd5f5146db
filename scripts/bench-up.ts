// npm run bench:up: a no-op `kudev up` (image built and already on the node) against a no-op `docker build`
// of the same context, interleaved in one run. Goal: ≤ 0.05×. The cluster is a kind-style node container
// with a real containerd, loaded through the kind stand-in (test/fixtures/bin), as in the tests.
// Usage: npm run bench:up [-- --runs N]
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {createKindCluster, standInEnv} from '../test/support/nodes.js'
import {kudevBin, machine, median, run, timeProcess, webappCorpus} from './bench/corpus.js'

const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 5 : Number(process.argv[runsFlag + 1])
const dir = webappCorpus()
const cluster = await createKindCluster('kudev-bench')
try {
  const kubeconfig = join(dir, '..', 'kubeconfig.yaml')
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: kind-kudev-bench',
      'clusters: [{name: kind-kudev-bench, cluster: {server: "https://127.0.0.1:6443"}}]',
      'contexts: [{name: kind-kudev-bench, context: {cluster: kind-kudev-bench, user: kind-kudev-bench}}]',
      'users: [{name: kind-kudev-bench, user: {}}]',
      '',
    ].join('\n'),
  )
  const env = standInEnv({KUBECONFIG: kubeconfig, NO_COLOR: '1'})
  process.stderr.write('first up and docker build (not timed)…\n')
  run(process.execPath, [kudevBin, 'up', '-q'], {cwd: dir, env})
  run('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env})

  const kudev: number[] = []
  const docker: number[] = []
  for (let i = 0; i < runs; i++) {
    kudev.push(timeProcess(process.execPath, [kudevBin, 'up', '-q'], {cwd: dir, env}))
    docker.push(timeProcess('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env}))
  }

  const ratio = median(kudev) / median(docker)
  console.log(`Machine: ${machine()}; corpus ${dir}; one kind-style node; ${runs} runs each, interleaved\n`)
  console.log('| command (nothing changed) | median ms | ratio | goal |')
  console.log('| --- | ---: | ---: | --- |')
  console.log(
    `| \`docker build .\` (classic builder, whole context sent) | ${median(docker).toFixed(0)} | 1.00 | baseline |`,
  )
  console.log(
    `| \`kudev up\` (built and loaded) | ${median(kudev).toFixed(0)} | ${ratio.toFixed(3)} | ≤ 0.05× ${ratio <= 0.05 ? 'met' : 'MISSED'} |`,
  )
  process.exitCode = ratio <= 0.05 ? 0 : 1
} finally {
  await cluster.remove()
}
