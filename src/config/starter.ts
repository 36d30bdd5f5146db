import path from 'node:path'

import {KudevError} from '../output/errors.js'
import {checkDnsLabel} from './rules.js'
import {API_VERSION, DEFAULTS, KIND} from './schema.js'

/**
 * A valid metadata.name from a folder path (relative paths start at the process working
 * directory): `My_Cool.App` → `my-cool-app`, `go` → `go-app`, `/` → `app`.
 */
export function deriveProjectName(dir: string): string {
  const words = path
    .basename(path.resolve(dir))
    // Accents are dropped rather than turned into '-': `café` → `cafe`.
    .normalize('NFKD')
    .replaceAll(/[\u0300-\u036F]/g, '')
    .replaceAll(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replaceAll(/[^a-z0-9]+/g, '-')
  const name = words.slice(0, 63).replaceAll(/^-+|-+$/g, '')
  if (name === '') return 'app'
  return name.length < 3 ? `${name}-app` : name
}

/**
 * The text `kudev init` writes: the required fields plus the build defaults spelled out, each with a
 * short comment, then the optional build settings commented out, then the fields kept only from the
 * original kudev's format, commented out and marked as not acted on, so nobody expects a deployment.
 */
export function starterConfig(options: {name: string}): string {
  const problem = checkDnsLabel(options.name)
  if (problem !== undefined) {
    throw new KudevError('usage', `cannot use ${JSON.stringify(options.name)} as the project name: ${problem}`, {
      hint: `pick a name such as ${deriveProjectName(options.name)}`,
    })
  }
  const {name} = options
  return `# kudev configuration: how this project is built into an image, which kudev then loads into a
# local cluster. kudev does not deploy the app or forward ports. Every field is described in
# docs/configuration.md. Relative paths start at this file's folder.
apiVersion: ${API_VERSION}
kind: ${KIND}
metadata:
  # Project name: lowercase letters, digits and '-', 3 to 63 characters. Required by the format;
  # nothing in kudev uses it today.
  name: ${name}
spec:
  # Image repository to build, without a tag: kudev tags each build from its source.
  imageName: ${name}
  # Dockerfile to build.
  dockerfilePath: ${DEFAULTS.dockerfilePath}
  # Folder sent to the builder.
  buildContext: ${DEFAULTS.buildContext}
  # Files left out of the build context, in .gitignore syntax.
  buildContextExclusions: []
  #  - "*.md"
  #  - coverage/

  # Optional settings; uncomment to use.
  # Kubeconfig context whose cluster receives the image (by default, the current context).
  # kubeContext: kind-dev
  # Build arguments (docker build --build-arg NAME=VALUE).
  # buildArgs:
  #   VERSION: "1.0"
  # Dockerfile stage to build (docker build --target).
  # target: runtime
  # Platform to build for, os/arch[/variant].
  # platform: linux/amd64
  # Builder to use; kudev picks one when this is not set.
  # builder: docker
  # How the image reaches the cluster; kudev picks one when this is not set.
  # loader: kind
  # Network for RUN steps during the build (docker build --network).
  # network: none
  # Registry the cluster pulls from: push the image there instead of loading it into the nodes.
  # registry: localhost:5001

  # Kept so that files written for the original kudev, which deployed the app, still load. kudev
  # checks these fields but does not act on them, and changing them does not change the image.
  # Namespace the original kudev deployed into (default ${DEFAULTS.namespace}).
  # namespace: ${DEFAULTS.namespace}
  # Number of pods the original kudev ran (default ${DEFAULTS.replicas}).
  # replicas: ${DEFAULTS.replicas}
  # Port on this machine the original kudev forwarded to the app (default ${DEFAULTS.localPort}).
  # localPort: ${DEFAULTS.localPort}
  # Port the app listens on inside the container (default ${DEFAULTS.servicePort}).
  # servicePort: ${DEFAULTS.servicePort}
  # Environment variables the original kudev set in the container; values are strings.
  # env: [{name: LOG_LEVEL, value: debug}]
`
}
