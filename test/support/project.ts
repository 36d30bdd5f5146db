import {execa} from 'execa'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {type CleanupRegistry, dockerResult, uniqueName} from './docker.js'
import {standInEnv} from './nodes.js'

/** A kube context as kind, k3d and minikube name them; `minikube` adds the extensions minikube writes. */
export interface TestContext {
  name: string
  cluster: string
  minikube?: boolean
}

/** A kubeconfig as kind, k3d and minikube write them, with the given contexts. */
export function kubeconfigText(contexts: TestContext[], current: string): string {
  const extension = (name: string) =>
    `    extensions:\n    - extension: {provider: minikube.sigs.k8s.io, version: v1.38.1}\n      name: ${name}\n`
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${current}`,
    'clusters:',
    ...contexts.map(
      (c) =>
        `- name: ${c.cluster}\n  cluster:\n    server: https://127.0.0.1:6443\n${c.minikube ? extension('cluster_info') : ''}`,
    ),
    'contexts:',
    ...contexts.map(
      (c) =>
        `- name: ${c.name}\n  context:\n    cluster: ${c.cluster}\n    user: ${c.cluster}\n${c.minikube ? extension('context_info') : ''}`,
    ),
    'users:',
    ...contexts.map((c) => `- name: ${c.cluster}\n  user: {}`),
    '',
  ].join('\n')
}

/** The one context of a kind cluster: `kind-<name>`. */
export function kindContext(name: string): TestContext {
  return {cluster: `kind-${name}`, name: `kind-${name}`}
}

/**
 * A project of two files (Dockerfile, index.html) whose `.kudev.yaml` names a fresh image, and a kubeconfig
 * beside it (KUBECONFIG in the stand-ins' environment), both removed after the suite with every image of that
 * name.
 */
export async function upProject(
  cleanup: CleanupRegistry,
  what: string,
  contexts: TestContext[],
  current: string,
): Promise<{project: string; imageName: string; env: NodeJS.ProcessEnv}> {
  const project = await cleanup.tempDir(`kudev-up-${what}-`)
  const imageName = `kudev-test/${uniqueName(what)}`
  await writeFile(join(project, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\n')
  await writeFile(join(project, 'index.html'), 'v1\n')
  await writeFile(
    join(project, '.kudev.yaml'),
    `apiVersion: kudev.io/v1alpha1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec: {imageName: ${imageName}}\n`,
  )
  const file = join(project, '..', `${uniqueName('kubeconfig')}.yaml`)
  cleanup.add(`kubeconfig ${file}`, () => execa('rm', ['-f', file]).then(() => undefined))
  await writeFile(file, kubeconfigText(contexts, current))
  cleanup.add(`images ${imageName}`, async () => {
    const {stdout} = await dockerResult(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', imageName])
    for (const ref of stdout.split('\n').filter(Boolean)) await dockerResult(['image', 'rm', '-f', ref])
  })
  return {env: standInEnv({KUBECONFIG: file}), imageName, project}
}
