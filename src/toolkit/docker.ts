/**
 * The docker CLI as loaders use it: one way to run it and fail, and the engine's platform, which is the
 * platform of every cluster node that is one of its containers.
 */
import {hostname} from 'node:os'

import type {ExecOptions, ExecResult} from '../exec/run.js'
import type {ExitCodeName} from '../output/errors.js'
import type {BaseToolkit, DockerHost, DockerOptions} from '../plugins/contract.js'

export const DOCKER = 'docker'
export const DOCKER_NOT_FOUND_HINT = 'install Docker (https://docs.docker.com/get-docker/), or put docker on PATH'

/** Runs docker; a failure becomes an error of `errorCode` that says what kudev was doing and docker's last line. */
export async function docker(
  toolkit: BaseToolkit,
  args: readonly string[],
  doing: string,
  options: DockerOptions = {},
): Promise<ExecResult> {
  const {accept, errorCode = 'engine', ...rest} = options
  const execOptions: ExecOptions = {...rest, allowFailure: true, errorCode, notFoundHint: DOCKER_NOT_FOUND_HINT}
  const result = await toolkit.exec(DOCKER, args, execOptions)
  if (result.exitCode === 0 || accept?.(result)) return result
  throw dockerFailed(toolkit, result, doing, errorCode)
}

function dockerFailed(toolkit: BaseToolkit, result: ExecResult, doing: string, code: ExitCodeName): Error {
  const lines = result.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  return toolkit.error(
    code,
    `could not ${doing}: ${lines.at(-1) ?? `${result.command} exited with code ${result.exitCode}`}`,
    {
      details: lines.slice(-10, -1),
      hint:
        code === 'engine'
          ? 'is Docker running? `docker info` says what is wrong'
          : 'rerun with -v to see every command kudev runs',
    },
  )
}

/** `docker info` reports the kernel's machine name; images and manifests use Go's names. */
const GO_ARCH: Record<string, string> = {aarch64: 'arm64', armv7l: 'arm', x86_64: 'amd64'}

export async function dockerHost(toolkit: BaseToolkit, machineName = hostname()): Promise<DockerHost> {
  const {stdout} = await docker(
    toolkit,
    [
      'info',
      '--format',
      '{{.OSType}}\t{{.Architecture}}\t{{json .DriverStatus}}\t{{.Name}}\t{{.OperatingSystem}}\t{{json .SecurityOptions}}',
    ],
    'ask Docker for its platform and image store',
  )
  const [os = 'linux', machine = '', driverStatus = 'null', name, system = '', security = 'null'] = stdout
    .trim()
    .split('\t')
  const status = JSON.parse(driverStatus) as [string, string][] | null
  const containerdStore = (status ?? []).some(
    ([key, value]) => key === 'driver-type' && value === 'io.containerd.snapshotter.v1',
  )
  const rootless = ((JSON.parse(security) as string[] | null) ?? []).some((option) => option.includes('name=rootless'))
  return {
    containerdStore,
    platform: `${os}/${GO_ARCH[machine] ?? machine}`,
    // Docker Desktop's engine runs in a VM, a remote one elsewhere, a rootless one in its own network
    // namespace: their 127.0.0.1 is not this machine's. The engine's name is its machine's host name.
    sharesLoopback:
      os === 'linux' && !containerdStore && !rootless && name === machineName && !/Docker Desktop/i.test(system),
  }
}
