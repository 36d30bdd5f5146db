import os from 'node:os'
import path from 'node:path'

export interface KubeconfigLocationOptions {
  /** Environment to read KUBECONFIG from; defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** Home directory for the default ~/.kube/config; defaults to os.homedir(). */
  home?: string
}

/** The kubeconfig files to consult, in precedence order, as client-go's default loading rules pick them. */
export interface KubeconfigSearch {
  files: string[]
  /** The raw KUBECONFIG value when it chose the files (for messages). */
  kubeconfigEnv?: string
  home: string
}

export function kubeconfigSearch(options: KubeconfigLocationOptions = {}): KubeconfigSearch {
  const env = options.env ?? process.env
  const home = options.home ?? os.homedir()
  const kubeconfigEnv = env.KUBECONFIG
  // client-go: a non-empty KUBECONFIG replaces the default file entirely, even if it only holds separators;
  // empty entries are skipped and repeated paths are read once.
  if (kubeconfigEnv) {
    const files = [...new Set(kubeconfigEnv.split(path.delimiter).filter((file) => file !== ''))]
    return {files, kubeconfigEnv, home}
  }

  return {files: [path.join(home, '.kube', 'config')], home}
}

/** Shortens paths under the home directory to ~/... so messages match what users type. */
export function displayPath(file: string, home: string): string {
  const relative = path.relative(home, file)
  if (
    home !== '' &&
    path.isAbsolute(file) &&
    relative !== '' &&
    !relative.startsWith('..') &&
    !path.isAbsolute(relative)
  ) {
    return path.join('~', relative)
  }

  return file
}

export function displayPaths(files: readonly string[], home: string): string {
  return files.map((file) => displayPath(file, home)).join(', ')
}
