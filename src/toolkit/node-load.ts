/**
 * Loading an image into nodes that are containers with their own containerd (kind, Docker Desktop's kind
 * mode): the image's layers taken from Docker once, then per node, in parallel, an OCI layout holding only
 * the layers the node lacks, streamed into the `ctr images import` kind runs. A node is trusted only once
 * containerd lists the image under its name, complete and unpacked; a trimmed load that fails that is
 * followed by a full one.
 *
 * The layers leave Docker by a push to kudev's loopback registry where the engine can reach it: Docker
 * hands over only the layers it never pushed before (after an edit, the app's layer: milliseconds, where a
 * save stages the whole image first). A node lacking a layer Docker did not hand over, a push past its
 * limit (a new big layer: Docker compresses it) or one that fails, take the save.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {pipeline, type Readable} from 'node:stream'
import {setImmediate as nextTurn} from 'node:timers/promises'

import {lastLines} from '../exec/run.js'
import {formatBytes} from '../output/units.js'
import type {BaseToolkit, DockerHost, LoadableImage, NodeLoad, NodeLoadOptions} from '../plugins/contract.js'
import {counting} from '../util/streams.js'
import {withTempDir} from './archive.js'
import {docker} from './docker.js'
import {heldLayers, layoutSize, layoutStream, readImageArchive, type ImageArchive} from './image-archive.js'
import {normalizeRef} from './image-ref.js'
import {readLayerRecord, rememberLayers, type LayerRecord} from './layer-record.js'
import {startLoopbackPush, type LoopbackPush, type PushedImage} from './loopback-registry.js'
import {nameTarget, nodesWithout} from './nodes.js'
import {firstTime} from './notices.js'
import {pushedLayout} from './pushed-layout.js'

/** A node as the load found it: its snapshotter, what the image's name pointed at, and the blobs it held. */
interface Target {
  node: string
  snapshotter: string | undefined
  before: string | undefined
  /** Not asked with --full-load. */
  held?: ReadonlySet<string>
}

/** The image as `docker save` (or the builder) wrote it. */
interface Saved {
  file: string
  /** The archive's size: what a full load sends. */
  bytes: number
  /** Undefined when kudev could not read the archive: then every node gets it whole. */
  archive?: ImageArchive
  unreadable?: string
}

interface Run {
  toolkit: BaseToolkit
  image: LoadableImage
  /** What a node's name may point at once loaded: the image ID, and the manifests kudev sent. */
  ids: Set<string>
  options: NodeLoadOptions
  host: () => Promise<DockerHost>
  /** What the loopback push handed over, when it did. */
  pushed?: PushedImage
  /** What kudev knows of layers: their sizes, for those a layout from the push names but does not send. */
  record: LayerRecord
  /** The save, started by the first node that needs it. */
  saved: () => Promise<Saved>
}

type Save = (image: LoadableImage, file: string, signal: AbortSignal, platform?: string) => Promise<void>

/**
 * Loads `image` into each of `nodes` (container names) and returns what each was sent. Works in a temp
 * folder removed on every exit; on failure, waits for every node before throwing the first node's error.
 */
export async function loadIntoNodes(
  toolkit: BaseToolkit,
  image: LoadableImage,
  nodes: readonly string[],
  options: NodeLoadOptions,
  host: () => Promise<DockerHost>,
  save: Save,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeLoad[]> {
  if (nodes.length === 0) return []
  return withTempDir('kudev-load-', async (dir) => {
    const {sharesLoopback} = await host()
    let saving: Promise<Saved> | undefined
    const pushes = image.inDockerDaemon && !options.full && sharesLoopback && env.KUDEV_LOOPBACK_PUSH !== '0'
    const run: Run = {
      host,
      ids: new Set([image.id]),
      image,
      options,
      record: pushes ? readLayerRecord(env) : {diffIds: new Map(), sizes: new Map()},
      saved: () => (saving ??= saveOnce(run, save, path.join(dir, 'image.tar'))),
      toolkit,
    }
    // Each node is asked what it has while Docker prepares the save (seconds before its first byte), once the
    // save has started: asked first, six docker execs delayed it by about 0.1 s.
    if (!pushes) {
      run.saved().catch(() => {})
      await nextTurn()
    }

    const targets = nodes.map((node) => inspectNode(toolkit, node, image.ref, !options.full))
    for (const target of targets) target.catch(() => {})
    const stopPush = new AbortController()
    const layers = pushes ? imageLayers(toolkit, image.id) : undefined
    layers?.catch(() => {})
    const push = layers
      ? startLoopbackPush(toolkit, image, dir, {
          has: (digest) => everyNodeHolds(run.record, digest, layers, targets),
          signal: AbortSignal.any([options.signal, stopPush.signal]),
        })
      : undefined
    let loaded = false
    try {
      if (push) run.pushed = await pushedOrSave(run, push)
      const results = await Promise.allSettled(targets.map(async (target) => loadNode(run, await target)))
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
      if (failed) throw failed.reason
      loaded = true
      return results.map((result) => (result as PromiseFulfilledResult<NodeLoad>).value)
    } finally {
      if (push) await primed(run, push, loaded ? undefined : stopPush)
      await remember(run, saving, push, layers, env)
    }
  })
}

/** The image's diff IDs, in order, as Docker has them. */
async function imageLayers(toolkit: BaseToolkit, id: string): Promise<string[]> {
  const {stdout} = await docker(
    toolkit,
    ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', id],
    `read the layers of ${id}`,
    {errorCode: 'load'},
  )
  return (JSON.parse(stdout) as string[] | null) ?? []
}

/**
 * Whether every node holds the layer Docker asks the loopback registry about by `digest` (the compressed
 * digest it pushed it as before), so that Docker need not send it. A digest kudev has not seen stands for
 * one of the image's layers kudev has not seen pushed: yes only when every node holds all of those.
 */
async function everyNodeHolds(
  record: LayerRecord,
  digest: string,
  layers: Promise<string[]>,
  targets: readonly Promise<Target>[],
): Promise<boolean> {
  const nodes = await Promise.all(targets)
  const held = (diffId: string) => nodes.every((target) => target.held?.has(diffId) === true)
  const diffId = record.diffIds.get(digest)
  if (diffId !== undefined) return held(diffId)
  const seen = new Set(record.diffIds.values())
  return (await layers).filter((layer) => !seen.has(layer)).every(held)
}

/** What the push handed over; undefined (the nodes take the save) when it failed or passed its limit. */
async function pushedOrSave(run: Run, push: LoopbackPush): Promise<PushedImage | undefined> {
  const {logger} = run.toolkit
  try {
    const pushed = await push.handed
    const sent = [...pushed.sent.values()].reduce((sum, layer) => sum + layer.size, 0)
    logger.debug(
      `docker push to kudev's loopback registry handed over ${pushed.sent.size} of ${pushed.diffIds.length} layers (${formatBytes(sent)})`,
    )
    return pushed
  } catch (error) {
    if (run.options.signal.aborted) throw error
    logger.debug(`docker push to kudev's loopback registry: ${(error as Error).message}; saving the image instead`)
    run.saved().catch(() => {})
    return undefined
  }
}

/**
 * Waits for a push that went on past its limit: once it ends, Docker holds its layers as pushed, and the
 * next load of an edit of this image pushes only the new ones. Stopped when the load failed.
 */
async function primed(run: Run, push: LoopbackPush, stop: AbortController | undefined): Promise<void> {
  stop?.abort()
  if (!push.ended && run.pushed === undefined && stop === undefined && firstTime('loopback-push-priming'))
    run.toolkit.logger.info(
      'waiting for docker push to hand kudev the layers Docker never pushed before (once per new big layer): loads after an edit then send only what changed',
    )
  const failure = await push.finished
  if (failure !== undefined && run.pushed === undefined)
    run.toolkit.logger.debug(`docker push to kudev's loopback registry ended: ${failure}`)
}

/**
 * Records what this load learnt of layers for loads to come: the sizes of those it saw whole, and which
 * diff ID each compressed digest in the manifest Docker pushed stands for.
 */
async function remember(
  run: Run,
  saving: Promise<Saved> | undefined,
  push: LoopbackPush | undefined,
  layers: Promise<string[]> | undefined,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const sizes: [string, number][] = [...(run.pushed?.sent ?? [])].map(([digest, layer]) => [digest, layer.size])
  const saved = await saving?.catch(() => undefined)
  for (const blob of saved?.archive?.blobs ?? []) if (blob.layer) sizes.push([blob.digest, blob.size])
  const diffIds = (await layers?.catch(() => undefined)) ?? []
  const pushed = push?.manifestLayers ?? []
  const pairs = pushed.length === diffIds.length ? pushed.map((digest, i) => [digest, diffIds[i]!] as const) : []
  rememberLayers({diffIds: pairs, sizes}, env)
}

/** Saves the image into `file` and reads it as an image archive; the nodes' names may point at its manifests. */
async function saveOnce({host, ids, image, options, toolkit}: Run, save: Save, file: string): Promise<Saved> {
  // kind#3795: Docker's containerd image store saves an archive that lists every platform of an image but
  // holds only the content Docker has, and an import of every platform fails on the rest. The nodes are the
  // engine's containers, so its platform is theirs. (Older engines refuse --platform: only where needed.)
  const {containerdStore, platform} = await host()
  await reportingSize(file, options.onProgress, () =>
    save(image, file, options.signal, image.inDockerDaemon && containerdStore ? platform : undefined),
  )
  const saved: Saved = {bytes: (await stat(file)).size, file}
  try {
    saved.archive = await readImageArchive(file)
    // Saved for one platform, the names may point at that platform's manifest rather than the ID Docker reports.
    for (const target of saved.archive.targets) ids.add(target)
  } catch (error) {
    saved.unreadable = (error as Error).message
    toolkit.logger.debug(`cannot read the saved archive, every node gets it whole: ${saved.unreadable}`)
  }

  return saved
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
  const held = target.held ?? new Set()
  if (run.pushed) {
    const layout = pushedLayout(run.pushed, run.image.ref, held, run.record.sizes)
    if ('archive' in layout) return sendLayout(run, target, started, layout.archive, layout.omit, 'push')
    run.toolkit.logger.debug(`${node}: sending from the saved image: ${layout.needsSave}`)
  }

  const saved = await run.saved()
  if (saved.archive === undefined)
    return fullLoad(run, target, started, `kudev could not read the saved image (${saved.unreadable})`)
  const omit = heldLayers(saved.archive, held)
  if (omit.size === 0) return fullLoad(run, target, started, 'the node holds none of its layers')
  return sendLayout(run, target, started, saved.archive, omit, 'save')
}

/** Sends the layout of `archive` without `omit`; a full load from the save follows if the node does not then have the image. */
async function sendLayout(
  run: Run,
  target: Target,
  started: number,
  archive: ImageArchive,
  omit: ReadonlySet<string>,
  source: NodeLoad['source'],
): Promise<NodeLoad> {
  const {node} = target
  for (const manifest of archive.targets) run.ids.add(manifest)
  const size = layoutSize(archive, omit)
  run.toolkit.logger.debug(
    `${node}: sending ${size.blobsSent} blobs (${formatBytes(size.bytes)}) from the ${source}, leaving out ${size.blobsSkipped} layers it holds (${formatBytes(size.bytesSkipped)})`,
  )
  const failure = await importAndCheck(run, target, layoutStream(archive, omit), size.bytes)
  const trimmed = omit.size > 0
  if (failure === undefined) {
    const {blobsSent, blobsSkipped, bytes: bytesSent, bytesSkipped} = size
    const durationMs = Math.round(performance.now() - started)
    const mode = trimmed ? 'trimmed' : 'full'
    const reason = trimmed ? {} : {reason: 'the node holds none of its layers'}
    return {blobsSent, blobsSkipped, bytesSent, bytesSkipped, durationMs, mode, node, ...reason, source}
  }

  const what = trimmed ? 'the trimmed load' : 'the load of what docker push handed over'
  run.toolkit.logger.info(`${node}: ${what} failed (${failure}); loading the whole image`)
  return fullLoad(run, target, started, `${what} failed: ${failure}`)
}

async function fullLoad(run: Run, target: Target, started: number, reason: string): Promise<NodeLoad> {
  const {node} = target
  run.toolkit.logger.debug(`${node}: sending the whole image (${reason})`)
  const saved = await run.saved()
  const failure = await importAndCheck(run, target, createReadStream(saved.file), saved.bytes)
  if (failure !== undefined) {
    // The node may be gone too (stopped mid-load): what failed is the news, not that the cleanup could not run.
    await removeBrokenName(run, target).catch((error: Error) => run.toolkit.logger.debug(`${node}: ${error.message}`))
    throw run.toolkit.error('load', `could not load ${run.image.ref} into node "${node}": ${failure}`, {
      data: {image: run.image.ref, node, reason},
      hint: await failureHint(run, node, failure),
    })
  }

  return {
    blobsSent: saved.archive?.blobs.length ?? 0,
    blobsSkipped: 0,
    bytesSent: saved.bytes,
    bytesSkipped: 0,
    durationMs: Math.round(performance.now() - started),
    mode: 'full',
    node,
    reason,
    source: 'save',
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

/** Reports the size `file` has reached every quarter second while `work` writes it. */
async function reportingSize<T>(
  file: string,
  onProgress: NodeLoadOptions['onProgress'],
  work: () => Promise<T>,
): Promise<T> {
  if (!onProgress) return work()
  const timer = setInterval(() => {
    stat(file).then(
      (stats) => onProgress({bytes: stats.size}),
      () => {},
    )
  }, 250)
  try {
    return await work()
  } finally {
    clearInterval(timer)
  }
}
