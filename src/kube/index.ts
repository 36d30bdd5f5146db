/** Reads kubeconfig files the way kubectl does (without running it) and picks the kube context kudev works on. */
export {contextNames, resolveKubeContext, selectKubeContext} from './context.js'
export type {KubeContext, KubeContextChoice, KubeContextSource, ResolveKubeContextOptions} from './context.js'
export type {KubeconfigLocationOptions} from './files.js'
export {readKubeconfig} from './read.js'
export type {KubeconfigClusterEntry, KubeconfigContextEntry, Kubeconfig, KubeExtensions} from './read.js'
