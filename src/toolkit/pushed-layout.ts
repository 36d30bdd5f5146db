/**
 * A node's OCI layout from what a push to the loopback registry handed over: the config, the layers Docker
 * sent, and by reference the layers it did not send, which the node must already hold. Its manifest is the
 * one a save of the same image converts to (image-archive.ts), so a node ends up the same either way.
 */
import {indexEntriesFor, layoutIndex, schema2Manifest, type ImageArchive, type LayoutBlob} from './image-archive.js'
import type {PushedImage} from './loopback-registry.js'

/** The layout for a node and the layers it leaves out; or why this node needs the saved image instead. */
export function pushedLayout(
  pushed: PushedImage,
  ref: string,
  held: ReadonlySet<string>,
  sizes: ReadonlyMap<string, number>,
): {archive: ImageArchive; omit: Set<string>} | {needsSave: string} {
  const blobs = new Map<string, LayoutBlob>()
  const omit = new Set<string>()
  const layers: {digest: string; size: number}[] = []
  for (const digest of pushed.diffIds) {
    const sent = pushed.sent.get(digest)
    const size = sent?.size ?? sizes.get(digest)
    if (held.has(digest) && size !== undefined) {
      omit.add(digest)
      blobs.set(digest, {digest, layer: true, size})
    } else if (sent) blobs.set(digest, {digest, file: sent.file, layer: true, size: sent.size})
    else if (held.has(digest)) return {needsSave: `kudev has no record of the size of layer ${digest}`}
    else return {needsSave: `it lacks layer ${digest}, which Docker did not hand over`}
    layers.push({digest, size: size!})
  }

  const {manifest, manifestDigest} = schema2Manifest(pushed.config, layers)
  const {configDigest} = pushed
  blobs.set(configDigest, {content: pushed.config, digest: configDigest, layer: false, size: pushed.config.length})
  blobs.set(manifestDigest, {content: manifest, digest: manifestDigest, layer: false, size: manifest.length})
  return {
    archive: {
      blobs: [...blobs.values()],
      file: pushed.dir,
      format: 'docker',
      index: layoutIndex(indexEntriesFor({digest: manifestDigest, size: manifest.length}, [ref])),
      targets: [manifestDigest],
    },
    omit,
  }
}
