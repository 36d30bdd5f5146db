/**
 * Loading an image into nodes that are containers with their own containerd (kind, Docker Desktop's kind
 * mode): one save, then per node, in parallel, an OCI layout holding only the layers the node lacks,
 * streamed into the `ctr images import` kind runs. A node is trusted only once containerd lists the image
 * under its name, complete and unpacked; a trimmed load that fails that is followed by a full one.
 */
import {createReadStream} from 'node:fs'
import path from 'node:path'
import {pipeline, type Readable} from 'node:stream'

import {lastLines} from '../exec/run.js'
import {KudevError} from '../output/errors.js'
import {formatBytes, formatCount} from '../output/units.js'
import type {BaseToolkit, DockerHost, LoadableImage, NodeLoad, NodeLoadOptions} from '../plugins/contract.js'
import {counting} from '../util/streams.js'
import {withTempDir} from './archive.js'
import {spoolArchive} from './archive-spool.js'
import {docker} from './docker.js'
import {
  fillLeftOut,
  heldLayers,
  layoutSize,
  layoutStream,
  missingLayers,
  readImageArchive,
  type ImageArchive,
} from './image-archive.js'
import {layerNames} from './layer-names.js'
import {normalizeRef} from './image-ref.js'
import {nameTarget, nodesWithout} from './nodes.js'

/** A node as the load found it: its snapshotter, what the image's name pointed at, and the blobs it held. */
interface Target {
  node: string
  snapshotter: string | undefined
  before: string | undefined
  /** Not asked with --full-load. */
  held?: ReadonlySet<string>
}

/** The whole image, as a full load sends it. */
interface Whole {
  stream(): Readable
  bytes: number
}

interface Run {
  toolkit: BaseToolkit
  image: LoadableImage
  /** Undefined when kudev could not read the saved archive: then every node gets it whole. */
  archive?: ImageArchive
  unreadable?: string
  ids: ReadonlySet<string>
  options: NodeLoadOptions
  host: () => Promise<DockerHost>
  /** The whole image: the spooled file, or when layers were left out of it, with them from a second save. */
  whole: () => Promise<Whole>
}

type Save = (image: LoadableImage, signal: AbortSignal, platform?: string) => Promise<Readable>

/** Layers smaller than this are always kept: leaving them out spares little, and configs and manifests are never layers to leave out. */
const LEAVE_OUT_FROM = 1 << 20

/**
 * Loads `image` into each of `nodes` (container names) and returns what each was sent. The save streams
 * into a temp folder, removed on every exit, without the layers every node holds; on failure, waits for
 * every node before throwing the first node's error.
 */
export async function loadIntoNodes(
  toolkit: BaseToolkit,
  image: LoadableImage,
  nodes: readonly string[],
  options: NodeLoadOptions,
  host: () => Promise<DockerHost>,
  save: Save,
): Promise<NodeLoad[]> {
  if (nodes.length === 0) return []
  return withTempDir('kudev-load-', async (dir) => {
    // kind#3795: Docker's containerd image store saves an archive that lists every platform of an image but
    // holds only the content Docker has, and an import of every platform fails on the rest. The nodes are the
    // engine's containers, so its platform is theirs. (Older engines refuse --platform: only where needed.)
    const {containerdStore, platform} = await host()
    const savePlatform = image.inDockerDaemon && containerdStore ? platform : undefined
    const started = () => saving(toolkit, image, options, () => save(image, options.signal, savePlatform))
    const spool = (source: Readable, file: string, leaveOut: (name: string, size: number) => Promise<boolean>) =>
      saving(toolkit, image, options, () => {
        const {onProgress} = options
        // pipeline, not pipe: a save that fails must fail what the spool reads too.
        const input = onProgress
          ? pipeline(
              source,
              counting((bytes) => onProgress({bytes})),
              () => {},
            )
          : source
        return spoolArchive(input, file, `the save of ${image.ref}`, leaveOut)
      })

    const first = await started()
    // Each node is asked what it has while Docker prepares the save (seconds before its first byte), once the
    // save is on its way: asked before, the questions delay it.
    const targets = nodes.map((node) => inspectNode(toolkit, node, image.ref, !options.full))
    for (const target of targets) target.catch(() => {})
    const everywhere = options.full ? Promise.resolve(new Set<string>()) : heldEverywhere(targets)
    const names = layerNames()
    const file = path.join(dir, 'image.tar')
    const spooled = await spool(first, file, async (name, size) => {
      const digest = size >= LEAVE_OUT_FROM ? names.digestOf(name) : undefined
      return digest !== undefined && (await everywhere).has(digest)
    })
    if (spooled.leftOut > 0)
      toolkit.logger.debug(`left out of the saved file: ${formatCount(spooled.leftOut, 'layer')} every node holds`)

    let whole: Promise<Whole> | undefined
    const run: Run = {
      host,
      ids: new Set([image.id]),
      image,
      options,
      toolkit,
      whole() {
        if (spooled.leftOut === 0) return Promise.resolve({bytes: spooled.bytes, stream: () => createReadStream(file)})
        // Rare (a trimmed load that failed, a node that lacks a layer kudev expected it to hold): save again,
        // keeping only what the first save left out, so the folder never holds more than one image.
        whole ??= (async () => {
          toolkit.logger.debug(`saving ${image.ref} again for the layers left out of the first save`)
          const {archive} = run
          const again = path.join(dir, 'left-out.tar')
          const wanted = new Set(archive ? missingLayers(archive, new Set()).map((blob) => blob.name) : [])
          const second = await spool(await started(), again, async (name) => archive !== undefined && !wanted.has(name))
          if (archive === undefined) return {bytes: second.bytes, stream: () => createReadStream(again)}
          fillLeftOut(archive, again, second.entries)
          return {bytes: layoutSize(archive, new Set()).bytes, stream: () => layoutStream(archive)}
        })()
        return whole
      },
    }
    try {
      run.archive = await readImageArchive(file, spooled.entries)
      // Saved for one platform, the names may point at that platform's manifest rather than the ID Docker reports.
      run.ids = new Set([image.id, ...run.archive.targets])
      names.learn(run.archive.layerFiles)
    } catch (error) {
      run.unreadable = (error as Error).message
      toolkit.logger.debug(`cannot read the saved archive, every node gets it whole: ${run.unreadable}`)
    }

    const results = await Promise.allSettled(targets.map(async (target) => loadNode(run, await target)))
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason
    return results.map((result) => (result as PromiseFulfilledResult<NodeLoad>).value)
  })
}

/** The blobs every node holds (none when a node could not be asked: its own load says why). */
async function heldEverywhere(targets: Promise<Target>[]): Promise<Set<string>> {
  const held = await Promise.all(
    targets.map((target) =>
      target.then(
        (found) => found.held,
        () => undefined,
      ),
    ),
  )
  const [first, ...rest] = held
  if (first === undefined || rest.includes(undefined)) return new Set()
  return new Set([...first].filter((digest) => rest.every((other) => other!.has(digest))))
}

/** Runs a save; a stream that is no image archive becomes a load error that says so. */
async function saving<T>(
  toolkit: BaseToolkit,
  image: LoadableImage,
  options: NodeLoadOptions,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof KudevError) throw error
    if (options.signal.aborted)
      throw toolkit.error('interrupted', `interrupted while saving ${image.ref}`, {
        hint: 'nothing was loaded; run the command again',
      })
    throw toolkit.error('load', `could not save ${image.ref}: ${(error as Error).message}`, {
      hint: 'rerun with -v to see every command kudev runs',
    })
  }
}

async function inspectNode(toolkit: BaseToolkit, node: string, ref: string, trimming: boolean): Promise<Target> {
  const [snapshotter, before, held] = await Promise.all([
    nodeSnapshotter(toolkit, node),
    nameTarget(toolkit, node, ref),
    trimming ? heldBlobs(toolkit, node) : undefined,
  ])
  return {before, held, node, snapshotter}
}

async function loadNode(run: Run, target: Target): Promise<NodeLoad> {
  try {
    return await sendTo(run, target, performance.now())
  } catch (error) {
    // Stopped after ctr named the image but before it unpacked it: the name must not stay.
    if (run.options.signal.aborted) await removeBrokenName(run, target).catch(() => {})
    throw error
  }
}

async function sendTo(run: Run, target: Target, started: number): Promise<NodeLoad> {
  const {node} = target
  if (run.options.full) return fullLoad(run, target, started, 'asked for (--full-load)')
  if (run.archive === undefined)
    return fullLoad(run, target, started, `kudev could not read the saved image (${run.unreadable})`)
  const omit = heldLayers(run.archive, target.held ?? new Set())
  if (omit.size === 0) return fullLoad(run, target, started, 'the node holds none of its layers')
  if (missingLayers(run.archive, omit).length > 0)
    return fullLoad(
      run,
      target,
      started,
      'it lacks a layer kudev left out of the save, expecting every node to hold it',
    )
  const size = layoutSize(run.archive, omit)
  run.toolkit.logger.debug(
    `${node}: sending ${size.blobsSent} blobs (${formatBytes(size.bytes)}), leaving out ${size.blobsSkipped} layers it holds (${formatBytes(size.bytesSkipped)})`,
  )
  const failure = await importAndCheck(run, target, layoutStream(run.archive, omit), size.bytes)
  if (failure === undefined) {
    const {blobsSent, blobsSkipped, bytes: bytesSent, bytesSkipped} = size
    const durationMs = Math.round(performance.now() - started)
    return {blobsSent, blobsSkipped, bytesSent, bytesSkipped, durationMs, mode: 'trimmed', node}
  }

  run.toolkit.logger.info(`${node}: the trimmed load failed (${failure}); loading the whole image`)
  return fullLoad(run, target, started, `the trimmed load failed: ${failure}`)
}

async function fullLoad(run: Run, target: Target, started: number, reason: string): Promise<NodeLoad> {
  const {node} = target
  run.toolkit.logger.debug(`${node}: sending the whole image (${reason})`)
  const whole = await run.whole()
  const failure = await importAndCheck(run, target, whole.stream(), whole.bytes)
  if (failure !== undefined) {
    // The node may be gone too (stopped mid-load): what failed is the news, not that the cleanup could not run.
    await removeBrokenName(run, target).catch((error: Error) => run.toolkit.logger.debug(`${node}: ${error.message}`))
    throw run.toolkit.error('load', `could not load ${run.image.ref} into node "${node}": ${failure}`, {
      data: {image: run.image.ref, node, reason},
      hint: await failureHint(run, node, failure),
    })
  }

  return {
    blobsSent: run.archive?.blobs.length ?? 0,
    blobsSkipped: 0,
    bytesSent: whole.bytes,
    bytesSkipped: 0,
    durationMs: Math.round(performance.now() - started),
    mode: 'full',
    node,
    reason,
  }
}

/** What to do about a node that could not be loaded. */
async function failureHint(run: Run, node: string, failure: string): Promise<string> {
  if (/image might be filtered out/.test(failure))
    return `the image is not built for the nodes' platform: build it for theirs (${(await run.host()).platform} is the Docker engine's)`
  if (/no space left on device/i.test(failure))
    return `node "${node}" is out of disk space: remove images it no longer needs (docker exec ${node} crictl rmi --prune), or free space where Docker keeps its volumes`
  if (/is not running|No such container/i.test(failure))
    return `node "${node}" stopped during the load: start it (docker start ${node}) and run the command again`
  return `the node must list it, complete and unpacked: docker exec ${node} ctr --namespace=k8s.io images check name==${normalizeRef(run.image.ref)}`
}

/** Streams `input` into the node's `ctr images import`; undefined when the node then has the image, else why not. */
async function importAndCheck(
  run: Run,
  {node, snapshotter}: Target,
  source: Readable,
  total: number,
): Promise<string | undefined> {
  const withSnapshotter = snapshotter === undefined ? [] : [`--snapshotter=${snapshotter}`]
  const {onProgress} = run.options
  // pipeline, not pipe: a source that fails must fail what the node reads too.
  const input = onProgress
    ? pipeline(
        source,
        counting((bytes) => onProgress({bytes, node, total})),
        () => {},
      )
    : source
  try {
    const result = await docker(
      run.toolkit,
      [
        'exec',
        '-i',
        node,
        'ctr',
        '--namespace=k8s.io',
        'images',
        'import',
        '--all-platforms',
        '--digests',
        ...withSnapshotter,
        '-',
      ],
      `import ${run.image.ref} into node "${node}"`,
      {
        accept: () => true,
        errorCode: 'load',
        input,
        onLine: (line) => run.toolkit.logger.debug(`${node}: ${line}`),
        signal: run.options.signal,
      },
    )
    if (result.exitCode !== 0) return lastLines(result.stderr).at(-1) ?? `ctr exited ${result.exitCode}`
  } finally {
    source.destroy()
    input.destroy()
  }

  // One question answers both (name → digest, complete and unpacked) but when ctr converted the archive
  // itself (a full load of a legacy one): then its manifest is not kudev's, and the config tells.
  const checked = await imageCheck(run.toolkit, node, run.image.ref, snapshotter)
  const named =
    checked !== undefined &&
    (run.ids.has(checked.digest) ||
      (await nodesWithout(run.toolkit, [{name: node, state: 'running'}], run.image.ref, run.ids, run.host)).length ===
        0)
  if (!named) return `ctr exited 0, but the node does not list ${run.image.ref} as ${run.image.id}`
  if (!checked.whole) return `ctr exited 0, but the node's ${run.image.ref} is not complete and unpacked`
  return undefined
}

/**
 * What `ref` points at in the node, and whether all its content is there and unpacked for the snapshotter;
 * undefined when the node has no such name. Read from `ctr images check`'s table (REF TYPE DIGEST STATUS
 * SIZE UNPACKED): its `-q` lists complete images even when they are not unpacked (containerd 1.6),
 * whatever its help says.
 */
async function imageCheck(
  toolkit: BaseToolkit,
  node: string,
  ref: string,
  snapshotter: string | undefined,
): Promise<{digest: string; whole: boolean} | undefined> {
  const name = normalizeRef(ref)
  const withSnapshotter = snapshotter ? [`--snapshotter=${snapshotter}`] : []
  const {stdout} = await docker(
    toolkit,
    ['exec', node, 'ctr', '--namespace=k8s.io', 'images', 'check', ...withSnapshotter, `name==${name}`],
    `check ${ref} in node "${node}"`,
    {errorCode: 'load'},
  )
  const columns = stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((row) => row[0] === name && row[2]?.includes(':'))
  if (columns === undefined) return undefined
  return {digest: columns[2]!, whole: columns[3] === 'complete' && columns.at(-1) === 'true'}
}

/**
 * containerd ≤ 1.7 writes the name before it unpacks, so a failed import can leave the name pointing at an
 * image that cannot run. Removed when this load moved it and it is not complete; left alone otherwise.
 */
async function removeBrokenName(run: Run, {before, node, snapshotter}: Target): Promise<void> {
  const now = await nameTarget(run.toolkit, node, run.image.ref)
  if (now === undefined || now === before || (await imageCheck(run.toolkit, node, run.image.ref, snapshotter))?.whole)
    return
  const name = normalizeRef(run.image.ref)
  run.toolkit.logger.debug(`${node}: removing ${name}, which points at an image that did not load`)
  await docker(
    run.toolkit,
    ['exec', node, 'ctr', '--namespace=k8s.io', 'images', 'rm', name],
    `remove ${name} in node "${node}"`,
    {errorCode: 'load'},
  )
}

/** The digests of every blob in the node's content store. */
async function heldBlobs(toolkit: BaseToolkit, node: string): Promise<Set<string>> {
  const {stdout} = await docker(
    toolkit,
    ['exec', node, 'ctr', '--namespace=k8s.io', 'content', 'ls', '-q'],
    `list the content of node "${node}"`,
    {errorCode: 'load'},
  )
  return new Set(
    stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
  )
}

/**
 * The snapshotter the node's CRI uses, which the import must unpack for (kind's getSnapshotter). When the
 * config names none, CRI and ctr both use containerd's default, so the import passes none either.
 */
async function nodeSnapshotter(toolkit: BaseToolkit, node: string): Promise<string | undefined> {
  const {stdout} = await docker(
    toolkit,
    ['exec', node, 'containerd', 'config', 'dump'],
    `read the containerd configuration of node "${node}"`,
    {errorCode: 'load'},
  )
  return parseSnapshotter(stdout)
}

/** Config version 2 keeps it in plugins."io.containerd.grpc.v1.cri".containerd; 3 and later (containerd 2) in plugins."io.containerd.cri.v1.images". */
export function parseSnapshotter(toml: string): string | undefined {
  const version = Number(/^version\s*=\s*(\d+)/m.exec(toml)?.[1] ?? 1)
  const table =
    version >= 3 ? 'plugins."io.containerd.cri.v1.images"' : 'plugins."io.containerd.grpc.v1.cri".containerd'
  let current = ''
  for (const line of toml.split('\n').map((raw) => raw.trim())) {
    const header = /^\[([^[\]]+)\]$/.exec(line)
    if (header) current = header[1]!.trim()
    const value = /^snapshotter\s*=\s*"([^"]*)"/.exec(line)?.[1]
    if (value && current === table) return value
  }

  return undefined
}
