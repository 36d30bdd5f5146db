import {chmod, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import type {KudevSpec, ProjectConfig} from '../../src/config/schema.js'

/** A file's content (text or bytes), or a symlink, an (empty) folder, or a file with a mode. Keys are POSIX paths. */
export type TreeNode = string | Uint8Array | {link: string} | {dir: true} | {content: string; mode: number}
export type TreeSpec = Record<string, TreeNode>

/** Creates the tree under `root` in the order given (tests use the order to prove it does not matter). */
export async function makeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [path, node] of Object.entries(spec)) {
    const file = join(root, path)
    await mkdir(dirname(file), {recursive: true})
    if (typeof node === 'string' || node instanceof Uint8Array) await writeFile(file, node)
    else if ('link' in node) await symlink(node.link, file)
    else if ('dir' in node) await mkdir(file, {recursive: true})
    else {
      await writeFile(file, node.content)
      await chmod(file, node.mode)
    }
  }
}

/** A temp folder and its removal; call remove() in after/afterEach. */
export async function tempFolder(prefix: string): Promise<{dir: string; remove: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), `kudev-${prefix}-`))
  return {dir, remove: () => rm(dir, {force: true, recursive: true})}
}

/** A ProjectConfig for a project in `dir` (context `dir`, Dockerfile `dir/Dockerfile`) without writing .kudev.yaml. */
export function projectConfig(
  dir: string,
  spec: Partial<KudevSpec> = {},
  paths: {buildContext?: string; dockerfile?: string} = {},
): ProjectConfig {
  return {
    buildContext: paths.buildContext ?? dir,
    config: {
      apiVersion: 'kudev.io/v1alpha1',
      kind: 'DeploymentConfig',
      metadata: {name: 'demo'},
      spec: {
        buildArgs: {},
        buildContext: '.',
        buildContextExclusions: [],
        dockerfilePath: './Dockerfile',
        env: [],
        imageName: 'demo/web',
        localPort: 8080,
        namespace: 'default',
        replicas: 1,
        servicePort: 8080,
        ...spec,
      },
    },
    dir,
    dockerfile: paths.dockerfile ?? join(dir, 'Dockerfile'),
    file: join(dir, '.kudev.yaml'),
  }
}

export const runningAsRoot = process.getuid?.() === 0
