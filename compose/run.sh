#!/bin/sh
# Start or stop one of the Redis topologies in this folder and wait for it to be ready.
#
#   sh compose/run.sh up|down standalone|sentinel|cluster
#   npm run compose:up -- cluster        npm run compose:down -- cluster
#
# `up` returns once every container reports healthy (docker compose up --wait), so a test
# run can start right after it. `down` also removes the volumes, so the next `up` starts
# from an empty data set and a freshly created cluster.
set -eu

usage() {
  echo "usage: sh compose/run.sh up|down standalone|sentinel|cluster" >&2
}

fail() {
  echo "compose/run.sh: $1" >&2
  exit "${2:-1}"
}

action="${1:-}"
topology="${2:-}"

case "$action" in
  up | down) ;;
  "") usage; fail "missing action: expected 'up' or 'down'" 2 ;;
  *) usage; fail "unknown action '$action': expected 'up' or 'down'" 2 ;;
esac

case "$topology" in
  standalone | sentinel | cluster) ;;
  "") usage; fail "missing topology: expected one of standalone, sentinel, cluster" 2 ;;
  *) usage; fail "unknown topology '$topology': expected one of standalone, sentinel, cluster" 2 ;;
esac

# Shell parameter expansion only: nothing is looked up on PATH before the docker check.
case "$0" in
  */*) here="${0%/*}" ;;
  *) here="." ;;
esac
file="$here/$topology.yml"
project="connect-redis-ha-$topology"
[ -f "$file" ] || fail "compose file not found: $file"

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  set -- docker compose
elif command -v docker-compose >/dev/null 2>&1; then
  # The standalone Compose v2 binary; v1 (1.x) lacks `up --wait` and fails below.
  set -- docker-compose
elif command -v docker >/dev/null 2>&1; then
  fail "the Docker Compose plugin is missing: 'docker compose version' failed. Install Docker Compose v2 (Docker Desktop or the docker-compose-plugin package)." 3
else
  fail "docker was not found on PATH. Install Docker (Engine with the Compose plugin, or Docker Desktop), or run the test suites without it: they start redis-server from PATH (see README.md)." 3
fi

if [ "$1" = docker ] && ! docker info >/dev/null 2>&1; then
  fail "no Docker engine is reachable ('docker info' failed). Start the Docker daemon or Docker Desktop, or point DOCKER_HOST at a running engine." 3
fi

case "$action" in
  up)
    "$@" -f "$file" -p "$project" up -d --wait
    case "$topology" in
      standalone) url="redis://127.0.0.1:6379" ;;
      sentinel) url="redis-sentinel://127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381#mymaster" ;;
      cluster) url="redis-cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003" ;;
    esac
    echo "$topology is ready. Store URL:"
    echo "  REDIS_URL='$url'"
    ;;
  down)
    "$@" -f "$file" -p "$project" down -v --remove-orphans
    ;;
esac
