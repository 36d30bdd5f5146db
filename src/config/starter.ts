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
 * The text `kudev init` writes: the required fields plus every default spelled out, each with a
 * short comment, and the optional fields commented out so they show what can be set.
 */
export function starterConfig(options: {name: string}): string {
  const problem = checkDnsLabel(options.name)
  if (problem !== undefined) {
    throw new KudevError('usage', `cannot use ${JSON.stringify(options.name)} as the project name: ${problem}`, {
      hint: `pick a name such as ${deriveProjectName(options.name)}`,
    })
  }
  const {name} = options
  return `# kudev configuration: builds this project into an image and runs it in a local cluster.
# Every field is described in docs/configuration.md. Relative paths start at this file's folder.
apiVersion: ${API_VERSION}
kind: ${KIND}
metadata:
  # Name of the Deployment and Service: lowercase letters, digits and '-', 3 to 63 characters.
  name: ${name}
spec:
  # Image repository to build, without a tag: kudev tags each build from its source.
  imageName: ${name}
  # Dockerfile to build.
  dockerfilePath: ${DEFAULTS.dockerfilePath}
  # Folder sent to the builder.
  buildContext: ${DEFAULTS.buildContext}
  # Kubernetes namespace to deploy into; it must already exist.
  namespace: ${DEFAULTS.namespace}
  # Number of pods to run (0 stops the app but keeps its Deployment).
  replicas: ${DEFAULTS.replicas}
  # Port on this machine forwarded to the app.
  localPort: ${DEFAULTS.localPort}
  # Port the app listens on inside the container.
  servicePort: ${DEFAULTS.servicePort}
  # Environment variables for the container. Values are strings: quote numbers and booleans.
  env: []
  #  - name: LOG_LEVEL
  #    value: debug
  # Files left out of the build context, in .gitignore syntax.
  buildContextExclusions: []
  #  - "*.md"
  #  - coverage/

  # Optional settings; uncomment to use.
  # Kubeconfig context to deploy to (by default, the current context).
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
`
}
