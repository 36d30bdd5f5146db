/** The shape of `.kudev.yaml`: typed result, defaults, and the field names each section accepts. */

export const CONFIG_FILE_NAME = '.kudev.yaml'
export const API_VERSION = 'kudev.io/v1alpha1'
export const KIND = 'DeploymentConfig'

export interface EnvVar {
  name: string
  value: string
}

export interface KudevSpec {
  /** Image repository without tag: kudev computes the tag from the source. */
  imageName: string
  /** As written; relative paths are relative to the folder holding .kudev.yaml. */
  dockerfilePath: string
  namespace: string
  replicas: number
  localPort: number
  servicePort: number
  env: EnvVar[]
  kubeContext?: string
  /** gitignore syntax, relative to the build context. */
  buildContextExclusions: string[]
  /** As written; relative paths are relative to the folder holding .kudev.yaml. */
  buildContext: string
  buildArgs: Record<string, string>
  target?: string
  platform?: string
  builder?: string
  loader?: string
  network?: string
  /** `host[:port][/path]`: push the image there instead of loading it into the nodes. */
  registry?: string
}

/** A validated `.kudev.yaml` with every default filled in. */
export interface KudevConfig {
  apiVersion: typeof API_VERSION
  kind: typeof KIND
  metadata: {name: string}
  spec: KudevSpec
}

export interface ProjectConfig {
  /** Absolute path of the .kudev.yaml that was read. */
  file: string
  /** Absolute path of the folder holding it: relative paths in the file start here. */
  dir: string
  config: KudevConfig
  /** Absolute path of spec.buildContext. */
  buildContext: string
  /** Absolute path of spec.dockerfilePath. */
  dockerfile: string
}

export const DEFAULTS = {
  dockerfilePath: './Dockerfile',
  namespace: 'default',
  replicas: 1,
  localPort: 8080,
  servicePort: 8080,
  buildContext: '.',
} as const

export const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const
export const METADATA_FIELDS = ['name'] as const
export const SPEC_FIELDS = [
  'imageName',
  'dockerfilePath',
  'namespace',
  'replicas',
  'localPort',
  'servicePort',
  'env',
  'kubeContext',
  'buildContextExclusions',
  'buildContext',
  'buildArgs',
  'target',
  'platform',
  'builder',
  'loader',
  'network',
  'registry',
] as const
export const ENV_FIELDS = ['name', 'value'] as const
