/**
 * What the real docker CLIs print, captured on a Debian 12 machine with Docker CLI 28.2.2
 * (/usr/local/bin/docker, classic builder, no buildx) and Debian's CLI 20.10.24 (/usr/bin/docker, BuildKit
 * built in), both talking to engine 20.10.24.
 */

/** `docker version --format '{{json .}}'` (shortened to the fields read). */
export const VERSION_JSON_28 =
  '{"Client":{"Version":"28.2.2","ApiVersion":"1.41","DefaultAPIVersion":"1.50","Os":"linux","Arch":"amd64","Context":"default"},"Server":{"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1"}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}}'
export const VERSION_JSON_20 =
  '{"Client":{"Platform":{"Name":""},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","DefaultAPIVersion":"1.41","Os":"linux","Arch":"amd64","Context":"default","Experimental":true},"Server":{"Version":"20.10.24+dfsg1","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}}'
/** stdout when the daemon cannot be reached: the client half only. */
export const VERSION_JSON_NO_SERVER_28 =
  '{"Client":{"Version":"28.2.2","ApiVersion":"1.50","DefaultAPIVersion":"1.50","GitCommit":"e6534b4","GoVersion":"go1.24.3","Os":"linux","Arch":"amd64","BuildTime":"Fri May 30 12:07:14 2025","Context":"default"},"Server":null}'

/** DOCKER_HOST=unix:///nonexistent.sock docker version (both CLIs). */
export const STDERR_DEAD_SOCKET =
  'Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?'
/** DOCKER_HOST=tcp://127.0.0.1:1 docker version (both CLIs). */
export const STDERR_DEAD_TCP = 'Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?'
/** setpriv --reuid=nobody --regid=nogroup --clear-groups docker version (CLI 28). */
export const STDERR_PERMISSION_28 = [
  'WARNING: Error loading config file: open /root/.docker/config.json: permission denied',
  'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/version": dial unix /var/run/docker.sock: connect: permission denied',
].join('\n')
/** The same with CLI 20.10. */
export const STDERR_PERMISSION_20 = [
  'WARNING: Error loading config file: /root/.docker/config.json: open /root/.docker/config.json: permission denied',
  'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version": dial unix /var/run/docker.sock: connect: permission denied',
].join('\n')
/** DOCKER_CONTEXT=nosuch docker version. */
export const STDERR_NO_CONTEXT_28 =
  'Failed to initialize: unable to resolve docker endpoint: context "nosuch": context not found: open /root/.docker/contexts/meta/9e62f93eb7d2499903ac66232f187c56fc050eb74c765f90eb214360b21f0e96/meta.json: no such file or directory'
export const STDERR_NO_CONTEXT_20 = 'unable to resolve docker endpoint: context "nosuch" does not exist'
/** `docker buildx version` on CLI 28 without the buildx plugin. */
export const STDERR_NO_BUILDX_28 = "docker: unknown command: docker buildx\n\nRun 'docker --help' for more information"

/** `docker image inspect` of an absent image. */
export const STDERR_NO_SUCH_IMAGE_28 =
  'Error response from daemon: no such image: nosuch:tag: No such image: nosuch:tag'
export const STDERR_NO_SUCH_IMAGE_20 = 'Error: No such image: nosuch:tag'
/** `docker image inspect BAD::x` (engine 20.10 says "no such image" for a malformed name too). */
export const STDERR_INVALID_REFERENCE =
  'Error response from daemon: no such image: BAD::x: invalid reference format: repository name must be lowercase'

/** Classic builder (CLI 28, `--force-rm`), a RUN step exits 3; stdout and stderr interleaved as they came. */
export const CLASSIC_FAILED_RUN =
  "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\nSending build context to Docker daemon  10.24kB\n\nStep 1/4 : FROM kudev-test/busybox:1\n ---> 5ee838490a41\nStep 2/4 : RUN echo hello\n ---> Using cache\n ---> 3da8db27c2b1\nStep 3/4 : RUN echo boom >&2; exit 3\n ---> Running in 4276531d3c5c\n\u001B[91mboom\n\u001B[0mRemoving intermediate container 4276531d3c5c\nThe command '/bin/sh -c echo boom >&2; exit 3' returned a non-zero code: 3\n"
/** Classic builder, a Dockerfile syntax error: no step starts. */
export const CLASSIC_PARSE_ERROR =
  'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\nSending build context to Docker daemon  10.24kB\r\r\nError response from daemon: dockerfile parse error line 2: unknown instruction: FOO\n'
/** Classic builder, COPY of a missing file. */
export const CLASSIC_COPY_MISSING =
  'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\nSending build context to Docker daemon  10.24kB\r\r\nStep 1/2 : FROM scratch\n ---> \nStep 2/2 : COPY missing /x\nCOPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist\n'

/** BuildKit (CLI 20.10, `--progress=plain`), the same failing RUN step. */
export const BUILDKIT_FAILED_RUN =
  '#1 [internal] load remote build context\n#1 sha256:1cc123e1bbdad878d1b2e26d85336bbce8ef8fa18c0660bf712fdf148e8364f6\n#1 DONE 0.0s\n\n#2 copy /context /\n#2 sha256:722224c539507b4820f00432d90b5a5996b0022d62f4bcdedfcc2c400de4decf\n#2 DONE 0.0s\n\n#3 [internal] load metadata for docker.io/kudev-test/busybox:1\n#3 sha256:010568fca6134f39c27467a98481f7fb9d8905151cd0ed716c1a067f33b622dd\n#3 DONE 0.0s\n\n#7 [1/4] FROM docker.io/kudev-test/busybox:1\n#7 sha256:3826d030a752f176d1444a060a065ad62747d7cdcc6129c327dd56d0daee83e0\n#7 DONE 0.0s\n\n#4 [2/4] RUN echo hello\n#4 sha256:6d2d8ed690cc426bcd4e3890d176a3f781ec236167c4c7587a0f183020ae4cfd\n#4 CACHED\n\n#5 [3/4] RUN echo boom >&2; exit 3\n#5 sha256:62421d86a2c3ee0fdab59df0b4c9b84ea073a7bb529c60d6203bb4602da18be9\n#5 0.047 boom\n#5 ERROR: executor failed running [/bin/sh -c echo boom >&2; exit 3]: exit code: 3\n------\n > [3/4] RUN echo boom >&2; exit 3:\n------\nexecutor failed running [/bin/sh -c echo boom >&2; exit 3]: exit code: 3\n'
/** BuildKit, a Dockerfile syntax error: no vertex fails, the frontend does. */
export const BUILDKIT_PARSE_ERROR =
  '#1 [internal] load remote build context\n#1 sha256:41fe2f387830b499670fbe2aa89c9828c1a3e0f2b5d841c6bbbf3bb3ff9f46c3\n#1 DONE 0.0s\n\n#2 copy /context /\n#2 sha256:eda3a9dc43e164d7dcd03aff6429eb7051bca4505bf8e2ad4572bd3349b5f360\n#2 DONE 0.0s\nfailed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: FOO\n'
/** BuildKit, COPY of a missing file. */
export const BUILDKIT_COPY_MISSING =
  '#1 [internal] load remote build context\n#1 sha256:f87e981ad0581c24b89148d8beef75051da0e7dbdf7dbf3e4af5ced60220f48f\n#1 DONE 0.0s\n\n#2 copy /context /\n#2 sha256:6fd361e30c01858ab20a141c8bd40e091d9d17451cbe8e87c9c7cb5dcb0e6ae4\n#2 DONE 0.1s\n\n#3 [1/1] COPY missing /x\n#3 sha256:caf37443761646e46823912ce30397339aae049f9d9aab4584cea4e5e83bfe02\n#3 ERROR: "/missing" not found: not found\n------\n > [1/1] COPY missing /x:\n------\nfailed to compute cache key: "/missing" not found: not found\n'
