// What plugin authors import. Types and constants only: nothing here runs at a plugin's import time.
export type {
  BaseToolkit,
  BuildContext,
  Builder,
  BuilderDescriptor,
  BuildersHook,
  BuildOptions,
  ClusterNode,
  DetectOptions,
  Diagnostic,
  DockerHost,
  DockerOptions,
  FolderContext,
  Finding,
  FullLoadCli,
  ImageCli,
  ImageInfo,
  ImageRef,
  KubeContextInfo,
  LackingNodes,
  LoadableImage,
  Loader,
  LoaderDescriptor,
  LoadersHook,
  LoadOptions,
  LoadProgress,
  LoadReport,
  LoadTarget,
  NodeLoad,
  NodeLoadOptions,
  NodeSelector,
  PluginToolkit,
  RegistrationOptions,
} from './plugins/contract.js'
export {BUILDERS_EVENT, DIGEST_LABEL, LOADERS_EVENT, SUPPORTED_API_VERSIONS} from './plugins/contract.js'
export type {ExecOptions, ExecResult} from './exec/run.js'
export type {ExitCodeName, KudevErrorOptions} from './output/errors.js'
export {ExitCode, KudevError} from './output/errors.js'
