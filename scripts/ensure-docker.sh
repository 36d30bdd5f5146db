#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`, starting one if needed.
#
# Usage: scripts/ensure-docker.sh [--pid-file FILE] [--log FILE] [--timeout SECONDS] [--no-install]
#
# - If `docker info` already works, nothing is started (the pid file is left empty, nothing is printed on stdout);
#   as root, busybox-static, podman, docker-registry, openssl and apache2-utils are still installed when missing.
# - Otherwise, as root on Debian/Ubuntu, the missing packages among docker.io (dockerd, /usr/bin/docker),
#   busybox-static (/bin/busybox, used for offline test base images), podman (the podman builder plugin's
#   tests), docker-registry (/usr/bin/docker-registry, the registry loader's tests), openssl and apache2-utils
#   (certificates and bcrypt htpasswd lines for the registry loader's TLS and login tests) are installed with one
#   `apt-get update` and one `apt-get install`, then
#   `dockerd --iptables=false --bridge=none` is started in the background (own session, so Ctrl-C in the
#   calling terminal does not reach it; its log goes to --log FILE, else to a new temp file).
# - When it started dockerd, the pid is written to the --pid-file (as soon as it is spawned, so a caller's trap can
#   stop it even if this script is interrupted) and printed alone on stdout once the engine answers.
#   Stop it with: kill PID (and wait for the process to go away).
# - If the engine does not answer within the timeout (default 60 s), the dockerd it started is stopped,
#   the tail of its log is printed on stderr, and the script exits 1.
# Progress lines go to stderr, prefixed with $KUDEV_LOG_PREFIX (default "[ensure-docker]").
#
# Environment:
#   DOCKER_HOST              honoured by the `docker info` checks (the docker CLI reads it)
#   KUDEV_DOCKERD_ARGS       replaces the default dockerd arguments "--iptables=false --bridge=none"
#   KUDEV_DOCKERD_EXTRA_ARGS appended to the dockerd arguments (e.g. -H/--data-root/--exec-root/--pidfile
#                            to run a second, private engine)
# Idempotent: running it again while the engine answers does nothing.
set -euo pipefail

prefix=${KUDEV_LOG_PREFIX:-[ensure-docker]}
pid_file=
dockerd_log=
timeout=60
allow_install=1

log() { printf '%s %s\n' "$prefix" "$*" >&2; }
die() { log "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --pid-file) pid_file=${2:?--pid-file needs a path}; shift 2 ;;
    --pid-file=*) pid_file=${1#*=}; shift ;;
    --log) dockerd_log=${2:?--log needs a path}; shift 2 ;;
    --log=*) dockerd_log=${1#*=}; shift ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    --timeout=*) timeout=${1#*=}; shift ;;
    --no-install) allow_install=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

if [ -n "$pid_file" ]; then : >"$pid_file"; fi

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

pkg_installed() {
  command -v dpkg-query >/dev/null 2>&1 || return 1
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# Installs the given Debian packages (only the missing ones) with one update and one install.
apt_install_missing() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$allow_install" != 1 ]; then
    log "missing packages: ${missing[*]} (not installing: --no-install)"; return 1
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again"
    return 1
  fi
  local t0=$SECONDS
  log "installing ${missing[*]} (apt-get update + install)"
  local out
  out=$(mktemp "${TMPDIR:-/tmp}/kudev-apt.XXXXXX")
  # Recommends included: that is the install these scripts were verified with (apparmor, git, xz-utils, ...).
  if ! { apt-get -o DPkg::Lock::Timeout=120 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}"; } >"$out" 2>&1; then
    tail -n 30 "$out" >&2; rm -f "$out"; log "apt-get failed"; return 1
  fi
  rm -f "$out"
  log "installed ${missing[*]} in $((SECONDS - t0))s"
}

# A dockerd whose pid file names a live process (started by someone else, maybe still coming up).
running_dockerd_pid() {
  local f=/var/run/docker.pid pid
  [ -r "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
  printf '%s\n' "$pid"
}

wait_for_engine() { # $1 = deadline (SECONDS), $2 = pid to watch (optional)
  while ! engine_answers; do
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then return 2; fi
    [ "$SECONDS" -ge "$1" ] && return 1
    sleep 0.5
  done
}

t_start=$SECONDS
if engine_answers; then
  log "Docker engine already answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')); nothing started"
  # Keep the offline test base, podman and the registry available where we may install them; not fatal when we may not.
  extras=()
  if [ ! -x /bin/busybox ]; then extras+=(busybox-static); fi
  if ! command -v podman >/dev/null 2>&1; then extras+=(podman); fi
  if [ ! -x /usr/bin/docker-registry ]; then extras+=(docker-registry); fi
  if ! command -v openssl >/dev/null 2>&1; then extras+=(openssl); fi
  if ! command -v htpasswd >/dev/null 2>&1; then extras+=(apache2-utils); fi
  if [ "$(id -u)" = 0 ] && [ ${#extras[@]} -gt 0 ]; then
    apt_install_missing "${extras[@]}" || log "warning: missing ${extras[*]}; integration tests need /bin/busybox, podman, /usr/bin/docker-registry, openssl and htpasswd"
  fi
  exit 0
fi

# The engine does not answer. Ensure the binaries (dockerd from docker.io only when there is no dockerd at all,
# so an existing docker-ce install is never replaced), plus busybox-static for test base images, podman,
# docker-registry (a real registry on loopback for the registry loader's tests), openssl and apache2-utils
# (its TLS and login tests).
want=()
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then want+=(docker.io); fi
if [ ! -x /bin/busybox ]; then want+=(busybox-static); fi
if ! command -v podman >/dev/null 2>&1; then want+=(podman); fi
if [ ! -x /usr/bin/docker-registry ]; then want+=(docker-registry); fi
if ! command -v openssl >/dev/null 2>&1; then want+=(openssl); fi
if ! command -v htpasswd >/dev/null 2>&1; then want+=(apache2-utils); fi
if [ ${#want[@]} -gt 0 ]; then
  if ! apt_install_missing "${want[@]}"; then
    command -v dockerd >/dev/null 2>&1 || die "no dockerd available"
    log "warning: continuing without: ${want[*]}"
  fi
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found after install"
command -v docker >/dev/null 2>&1 || die "docker CLI not found after install"

deadline=$((SECONDS + timeout))

# Someone else's dockerd may be starting (e.g. a service): wait for it instead of starting a second one.
if [ -z "${KUDEV_DOCKERD_EXTRA_ARGS:-}" ] && other=$(running_dockerd_pid); then
  log "a dockerd (pid $other) is already running; waiting for it to answer"
  if wait_for_engine "$deadline" "$other"; then
    log "Docker engine answers after $((SECONDS - t_start))s (not started by us)"; exit 0
  fi
  die "dockerd pid $other is running but 'docker info' does not answer; stop it or fix it"
fi

[ "$(id -u)" = 0 ] || die "'docker info' fails and starting dockerd needs root"

if [ -z "$dockerd_log" ]; then dockerd_log=$(mktemp "${TMPDIR:-/tmp}/kudev-dockerd.XXXXXX.log"); fi
# shellcheck disable=SC2206  # word splitting of the argument strings is intended
args=(${KUDEV_DOCKERD_ARGS:---iptables=false --bridge=none} ${KUDEV_DOCKERD_EXTRA_ARGS:-})
if command -v setsid >/dev/null 2>&1; then
  # Without job control this process is no group leader, so setsid execs in place and $! is dockerd's pid.
  setsid dockerd "${args[@]}" </dev/null >"$dockerd_log" 2>&1 &
else
  nohup dockerd "${args[@]}" </dev/null >"$dockerd_log" 2>&1 &
fi
pid=$!
if [ -n "$pid_file" ]; then printf '%s\n' "$pid" >"$pid_file"; fi
log "started dockerd ${args[*]} (pid $pid, log $dockerd_log)"

stop_ours() {
  if kill "$pid" 2>/dev/null; then
    local i
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -n "$pid_file" ]; then : >"$pid_file"; fi
}
# Interrupted while waiting: do not leave our dockerd behind.
trap 'stop_ours; exit 130' INT
trap 'stop_ours; exit 143' TERM

set +e
wait_for_engine "$deadline" "$pid"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  if [ $rc -eq 2 ]; then log "dockerd exited early"; else log "dockerd did not answer within ${timeout}s"; fi
  log "last lines of $dockerd_log:"
  tail -n 30 "$dockerd_log" | sed 's/^/    /' >&2
  stop_ours
  exit 1
fi
trap - INT TERM
log "Docker engine answers after $((SECONDS - t_start))s (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
printf '%s\n' "$pid"
