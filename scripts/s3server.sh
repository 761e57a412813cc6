#!/usr/bin/env bash
# Starts and stops a private S3 API server for the object storage tests (issue #22): moto's
# server (PyPI moto[server]), a real S3 HTTP API in one Python process, on a free loopback port,
# with authentication enforced so that wrong credentials are refused as S3 refuses them.
#
#   scripts/s3server.sh ensure-packages     install moto[server] with pip when missing
#   scripts/s3server.sh start DIR [--watch PID] [--days-ago N]
#                                           start it in DIR; prints "port=N"; DIR/credentials
#                                           holds "KEY_ID SECRET" of an account allowed all
#                                           --watch PID: stop it and delete DIR when PID exits
#                                           --days-ago N: its clock N days behind (faketime),
#                                           so the objects it stores are that old (cleanup)
#   scripts/s3server.sh stop DIR            stop the server in DIR and delete DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

ensure_packages() {
  if ! command -v faketime >/dev/null 2>&1; then
    echo "s3server.sh: installing faketime" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >&2; }
  fi
  if command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1; then
    return 0
  fi
  echo "s3server.sh: installing moto[server] with pip" >&2
  python3 -m pip install --quiet 'moto[server]' >&2
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
  local dir=$1; shift
  local watch="" clock=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --watch) watch=$2; shift 2 ;;
      --days-ago) clock=(faketime -f "-${2}d"); shift 2 ;;
      *) echo "s3server.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir"
  local attempt port pid
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "${clock[@]}" python3 "$here/moto_s3.py" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/server.pid"
    # Ready when it answers; gone when the port was taken meanwhile (then another port).
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
        echo "$port" >"$dir/port"
        # An account allowed everything, then authentication on: from here on every request
        # must be signed with its keys (moto accepts any keys until then).
        if ! S3_PORT=$port python3 "$here/s3tool.py" setup-auth >"$dir/credentials"; then
          echo "s3server.sh: could not set up authentication; see $dir/server.log" >&2
          kill "$pid" 2>/dev/null || true
          exit 1
        fi
        if [ -n "$watch" ]; then
          nohup bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
            >/dev/null 2>&1 &
        fi
        echo "port=$port"
        return 0
      fi
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
  done
  echo "s3server.sh: moto_server did not start; last lines of $dir/server.log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  exit 1
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/server.pid" ]; then
    local pid; pid=$(cat "$dir/server.pid")
    # Under --days-ago the pid is faketime's, which runs moto as its child: stop both.
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    pkill -9 -P "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  ensure-packages) ensure_packages ;;
  start) shift; ensure_packages; start "$@" ;;
  stop) shift; stop "$1" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
