// npm run bench:up, on the webapp corpus image (its dependencies in one 663 MB layer, src/ in the next), with
// kind-style node containers running a real containerd (overlayfs on a volume, as kind runs them), as in the
// tests. Each row interleaved with its baselines in one run:
//  - nothing changed: `kudev up` (built, loaded) against a no-op classic `docker build`. Goal ≤ 0.05×.
//  - load after a one-line edit of src/app.js, into two nodes: `kudev load` against kind's way, the whole image
//    per node (`docker save` once, then `ctr images import` of it in every node, in parallel). Goal ≤ 0.3×.
//    And against the floor of the trimmed path, measured here: `docker save` + an import per node of a
//    layout without the layers the node holds (its listing untimed). Goal ≤ 1.3×.
//  - the registry path after the same edit: `kudev load --registry` (a local registry, Debian's
//    docker-registry: push, then check what it serves) against the whole image per node. Goal ≤ 0.05×.
//    And the no-op `kudev up --registry` (the registry has the image) against the no-op classic build. ≤ 0.05×.
// Each of the three ways loads into a cluster of its own, so each starts from the same state: the nodes hold
// the previous image, not this one. Usage: npm run bench:up [-- --runs N]
import {spawn} from 'node:child_process'
import {appendFileSync, createReadStream, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Readable} from 'node:stream'

import {heldLayers, layoutStream, readImageArchive} from '../src/toolkit/image-archive.js'
import {CleanupRegistry} from '../test/support/docker.js'
import {createKindCluster, removeAll, standInEnv, type TestCluster} from '../test/support/nodes.js'
import {kindContext, kubeconfigText} from '../test/support/project.js'
import {startRegistry} from '../test/support/registry.js'
import {kudevBin, machine, median, run, timeProcess, webappCorpus} from './bench/corpus.js'

const runsFlag = process.argv.indexOf('--runs')
const runs = runsFlag === -1 ? 5 : Number(process.argv[runsFlag + 1])
const dir = webappCorpus()
const IMPORT = [
  'ctr',
  '--namespace=k8s.io',
  'images',
  'import',
  '--all-platforms',
  '--digests',
  '--snapshotter=overlayfs',
  '-',
]

function kubeconfig(clusters: TestCluster[]): string {
  const file = join(dir, '..', 'kubeconfig.yaml')
  const contexts = clusters.map((cluster) => kindContext(cluster.name))
  writeFileSync(file, kubeconfigText(contexts, contexts[0]!.name))
  return file
}

/** `docker exec -i NODE ctr images import -` fed `input`; resolves when it exits 0. */
function importInto(node: string, input: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['exec', '-i', node, ...IMPORT], {stdio: ['pipe', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    input.pipe(child.stdin)
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`import into ${node}: ${stderr}`))))
  })
}

/** kind's way: one `docker save`, then the whole archive into every node in parallel. */
async function wholeImage(image: string, nodes: string[]): Promise<number> {
  const started = performance.now()
  const scratch = mkdtempSync(join(tmpdir(), 'kudev-bench-'))
  try {
    run('docker', ['save', '-o', join(scratch, 'image.tar'), image])
    await Promise.all(nodes.map((node) => importInto(node, createReadStream(join(scratch, 'image.tar')))))
    return performance.now() - started
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }
}

/** The trimmed path's floor: one `docker save`, then per node a layout without the layers it holds. */
async function trimmedFloor(image: string, nodes: string[]): Promise<number> {
  const held = nodes.map(
    (node) => new Set(run('docker', ['exec', node, 'ctr', '--namespace=k8s.io', 'content', 'ls', '-q']).split('\n')),
  )
  const started = performance.now()
  const scratch = mkdtempSync(join(tmpdir(), 'kudev-bench-'))
  try {
    run('docker', ['save', '-o', join(scratch, 'image.tar'), image])
    const archive = await readImageArchive(join(scratch, 'image.tar'))
    await Promise.all(
      nodes.map((node, i) => {
        return importInto(node, layoutStream(archive, heldLayers(archive, held[i]!)))
      }),
    )
    return performance.now() - started
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }
}

interface Sent {
  sent: {nodes: {node: string; mode: string; bytesSent: number; source?: string}[]} | null
}

const clusters = await Promise.all(
  ['kb-kudev', 'kb-whole', 'kb-floor'].map((name) => createKindCluster(name, {workers: 1})),
)
const [forKudev, forWhole, forFloor] = clusters as [TestCluster, TestCluster, TestCluster]
const cleanup = new CleanupRegistry()
try {
  const registry = (await startRegistry(cleanup)).host
  const env = standInEnv({KUBECONFIG: kubeconfig(clusters), NO_COLOR: '1'})
  const buildEnv = {...env, DOCKER_BUILDKIT: '1', PATH: `/usr/bin:${env.PATH}`}
  process.stderr.write('first up and docker build (not timed)…\n')
  run(process.execPath, [kudevBin, 'up', '-q'], {cwd: dir, env: buildEnv})
  run('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env})

  const noopKudev: number[] = []
  const noopDocker: number[] = []
  for (let i = 0; i < runs; i++) {
    noopKudev.push(timeProcess(process.execPath, [kudevBin, 'up', '-q'], {cwd: dir, env: buildEnv}))
    noopDocker.push(timeProcess('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env}))
  }

  // kudev build prints "<ref> <id>".
  const build = () => run(process.execPath, [kudevBin, 'build', '-q'], {cwd: dir, env: buildEnv}).split(' ')[0]!
  let image = build()
  process.stderr.write('the image whole into the other two clusters, and pushed to the registry (not timed)…\n')
  for (const cluster of [forWhole, forFloor])
    run(process.execPath, [kudevBin, 'load', image, '--kube-context', `kind-${cluster.name}`], {cwd: dir, env})
  const pushTo = ['--registry', registry]
  run(process.execPath, [kudevBin, 'load', image, ...pushTo], {cwd: dir, env})
  const registryNoop: number[] = []
  const noopAgain: number[] = []
  for (let i = 0; i < runs; i++) {
    registryNoop.push(timeProcess(process.execPath, [kudevBin, 'up', '-q', ...pushTo], {cwd: dir, env: buildEnv}))
    noopAgain.push(timeProcess('docker', ['build', '-q', '-t', 'kudev-bench/webapp:docker', '.'], {cwd: dir, env}))
  }

  const kudevMs: number[] = []
  const wholeMs: number[] = []
  const floorMs: number[] = []
  const registryMs: number[] = []
  const sentBytes: number[] = []
  const sources: string[] = []
  for (let i = 0; i < runs; i++) {
    appendFileSync(join(dir, 'src', 'app.js'), `console.log('edit ${Date.now()} ${i}')\n`)
    image = build()
    process.stderr.write(`run ${i + 1}/${runs}: ${image}\n`)
    // Rotated, so no way always goes first on a warm page cache.
    const ways = [
      async () => {
        const started = performance.now()
        const out = run(
          process.execPath,
          [kudevBin, 'load', image, '--json', '--kube-context', `kind-${forKudev.name}`],
          {
            cwd: dir,
            env,
          },
        )
        kudevMs.push(performance.now() - started)
        const {sent} = JSON.parse(out) as Sent
        for (const node of sent?.nodes ?? []) {
          if (node.mode === 'trimmed') sentBytes.push(node.bytesSent)
          sources.push(`${node.mode} from ${node.source ?? 'the loader'}`)
        }
      },
      async () => wholeMs.push(await wholeImage(image, forWhole.nodes)),
      async () => floorMs.push(await trimmedFloor(image, forFloor.nodes)),
      async () => registryMs.push(timeProcess(process.execPath, [kudevBin, 'load', image, ...pushTo], {cwd: dir, env})),
    ]
    for (let j = 0; j < ways.length; j++) await ways[(i + j) % ways.length]!()
  }

  const row = (what: string, baseline: string, base: number[], mine: number[], goal?: number) => {
    const ratio = median(mine) / median(base)
    const met = goal === undefined || ratio <= goal
    const verdict = goal === undefined ? 'reported' : `≤ ${goal}× ${met ? 'met' : 'MISSED'}`
    console.log(
      `| ${what} | ${baseline} | ${median(base).toFixed(0)} | ${median(mine).toFixed(0)} | ${ratio.toFixed(3)} | ${verdict} |`,
    )
    return met
  }

  console.log(
    `Machine: ${machine()}; corpus ${dir}; ${runs} runs each, interleaved; load rows: two kind-style nodes per way (overlayfs on a volume)\n`,
  )
  console.log('| row | baseline | baseline median ms | kudev median ms | ratio | goal |')
  console.log('| --- | --- | ---: | ---: | ---: | --- |')
  const met = [
    row('nothing changed: `kudev up`', '`docker build .` (classic)', noopDocker, noopKudev, 0.05),
    row('load after a one-line edit: `kudev load`', 'whole image per node (kind)', wholeMs, kudevMs, 0.3),
    row('load after a one-line edit: `kudev load`', 'save + trimmed imports (floor)', floorMs, kudevMs, 1.3),
    row(
      'registry, after a one-line edit: `kudev load --registry`',
      'whole image per node (kind)',
      wholeMs,
      registryMs,
      0.05,
    ),
    row(
      'registry, nothing changed: `kudev up --registry`',
      '`docker build .` (classic)',
      noopAgain,
      registryNoop,
      0.05,
    ),
  ]
  const tally = [...new Set(sources)].map((each) => `${sources.filter((seen) => seen === each).length}× ${each}`)
  console.log(`\nkudev's loads per node: ${tally.join(', ')}`)
  console.log(
    `\nBytes sent per node by kudev's trimmed loads: median ${median(sentBytes).toFixed(0)}, max ${Math.max(...sentBytes)} (the whole image: ${run('docker', ['image', 'inspect', '-f', '{{.Size}}', image]).trim()} bytes)`,
  )
  process.exitCode = met.every(Boolean) ? 0 : 1
} finally {
  await removeAll()
  await cleanup.run()
}
