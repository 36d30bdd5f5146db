#!/usr/bin/env bash
# Quick start from a fresh clone: install, build, and run kudev on examples/hello.
#
#   scripts/quickstart-demo.sh
#
# 1. `npm ci` when node_modules is missing or older than package-lock.json
# 2. `npm run build`
# 3. a Docker engine (scripts/ensure-docker.sh: as root it installs docker.io/busybox-static if missing and
#    starts `dockerd --iptables=false --bridge=none`, which is left running for you)
# 4. the local base image kudev-test/busybox:1 from /bin/busybox (nothing is pulled), which examples/hello
#    builds on
# 5. kudev on examples/hello: validate, build, build again (up to date)
# 6. `kudev up` on it when the current kube context is a local cluster
# 7. what to do next: put kudev on your PATH, then run it on your own project
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

t_start=$SECONDS
log() { printf '[quickstart] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v node >/dev/null 2>&1 || die "Node.js 20 or later is needed (node not found)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is needed (found $(node --version))"

# 1. Dependencies.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  log "dependencies up to date"
fi

# 2. Build.
log "building (npm run build)"
npm run build

# 3. Docker engine.
engine_pid=$(KUDEV_LOG_PREFIX='[quickstart]' scripts/ensure-docker.sh)
if [ -n "$engine_pid" ]; then
  log "started a Docker engine for you (dockerd pid $engine_pid); stop it later with: kill $engine_pid"
fi

# 4. Offline base image (same recipe as test/support/images.ts).
base=kudev-test/busybox:1
if docker image inspect "$base" >/dev/null 2>&1; then
  log "base image $base present"
elif [ ! -x /bin/busybox ]; then
  die "/bin/busybox not found, so $base cannot be made (examples/hello builds on it): apt-get install busybox-static"
elif ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox is dynamically linked and cannot run alone in an image: apt-get install busybox-static"
else
  log "creating base image $base from /bin/busybox"
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/kudev-busybox-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh ls cat echo sleep true mkdir chmod env; do ln -s busybox "$rootfs/bin/$applet"; done
  tar -C "$rootfs" --owner=0 --group=0 --numeric-owner -c . |
    docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' \
      --message 'kudev test base: /bin/busybox from busybox-static' - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

# 5. kudev on the example: validate, then build twice; the second build is skipped (same inputs, same tag).
log "running: ./bin/run.js validate -C examples/hello"
./bin/run.js validate -C examples/hello
for run in first second; do
  log "running ($run time): ./bin/run.js build -C examples/hello"
  ./bin/run.js build -C examples/hello
done

# 6. With a local cluster (kind, minikube or Docker Desktop as the current kube context), load it there too.
first=build
if ./bin/run.js doctor -q -C examples/hello >/dev/null 2>&1; then
  log "running: ./bin/run.js up -C examples/hello"
  ./bin/run.js up -C examples/hello
  first=up
else
  log "no local cluster in the current kube context: skipping kudev up (see 'kudev doctor -C examples/hello')"
fi

log "done in $((SECONDS - t_start))s"

# 7. Next: kudev on PATH (npm link links package.json's bin, kudev -> bin/run.js, into npm's global bin folder).
repo=$(pwd -P)
if [ "$(readlink -f "$(command -v kudev)" 2>/dev/null)" = "$repo/bin/run.js" ]; then
  log "next: kudev is on your PATH (linked to $repo)"
else
  log "next: put kudev on your PATH with: cd $repo && npm link   (or run $repo/bin/run.js instead)"
fi
log "then, in your own project (a folder with a Dockerfile): cd your-app && kudev init && kudev $first"
