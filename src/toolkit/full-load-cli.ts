/**
 * The CLI of a cluster whose nodes are containers (kind, k3d). kudev loads into the nodes itself and runs
 * that CLI only for --full-load, so a missing CLI is worth a hint, not a failed doctor row.
 */
import {diagnostic} from '../doctor/diagnostic.js'
import {type ExecResult, lastLines} from '../exec/run.js'
import type {BaseToolkit, DockerHost, FullLoadCli} from '../plugins/contract.js'
import {describeNodes, nodesWithout} from './nodes.js'

export function fullLoadCli(
  toolkit: BaseToolkit,
  cli: string,
  installHint: string,
  host: () => Promise<DockerHost>,
): FullLoadCli {
  const version = (): Promise<ExecResult> =>
    toolkit.exec(cli, ['version'], {errorCode: 'load', notFoundHint: installHint})
  return {
    diagnostic: () =>
      diagnostic(cli, async () => {
        const result = await version().catch((error: {data?: {notFound?: boolean}}) => {
          if (error.data?.notFound) return undefined
          throw error
        })
        return (
          result?.stdout.split('\n')[0]?.trim() ?? {
            hint: installHint,
            summary: 'not installed: needed only for --full-load',
          }
        )
      }),
    async require() {
      await version()
    },
    installed: () =>
      version().then(
        () => true,
        () => false,
      ),
    async verifyLoaded(loaded, {cluster, ids, image, nodes}) {
      const missing = await nodesWithout(toolkit, nodes, image.ref, ids, host)
      if (missing.length === 0) return
      throw toolkit.error(
        'load',
        `${loaded.command} exited 0, but ${describeNodes(missing)} of cluster "${cluster}" ${missing.length === 1 ? 'does' : 'do'} not have ${image.ref} (${image.id})`,
        {
          data: {cluster, id: image.id, image: image.ref, nodes: missing},
          details: lastLines(loaded.stderr),
          hint: `${cli}'s output is above; each node must list it: docker exec ${missing[0]} ctr --namespace=k8s.io images ls`,
        },
      )
    },
  }
}
