#!/usr/bin/env bash
# Starts and stops a private, throwaway MariaDB server (temp datadir, free port, binlog + GTID on).
#
# Used by demo.sh, bench.sh and the Rust test harness, so there is one way to get a test server.
# It never touches a server that is already running on this machine.
#
#   scripts/sandbox.sh ensure-packages          install mariadb-server/client, openssl with apt when missing
#   scripts/sandbox.sh start DIR [--watch PID] [--tls | --tls-optional] [--server-id N]
#                                               start a server in DIR; prints "port=N socket=PATH"
#                                               (log in as root, empty password, over TCP or the
#                                               socket)
#                                               --watch PID: stop it and delete DIR when PID exits
#                                               --tls: certificates made now with the openssl CLI
#                                               in DIR/tls (see make_certs), TCP only over TLS
#                                               (require_secure_transport; the socket still works)
#                                               --tls-optional: the same certificates, plaintext
#                                               allowed too (the bench's TLS case)
#                                               --server-id N: instead of 1 (a replica of another
#                                               sandbox must differ, or it skips its events)
#   scripts/sandbox.sh stop DIR                 stop the server in DIR and delete DIR
#   scripts/sandbox.sh restart DIR              shut the server in DIR down cleanly and start it
#                                               again on the same port and datadir (fault tests)
set -euo pipefail

ensure_packages() {
  # openssl: the command that makes the certificates of `start --tls`.
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    if command -v mariadb >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then return 0; fi
  fi
  echo "sandbox: installing mariadb-server, mariadb-client and openssl with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The package's own post-install may try to start a system server; policy-rc.d stops that.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  apt-get install -y -qq mariadb-server mariadb-client openssl >&2
  if [ "$created" = 1 ]; then rm -f "$policy"; fi
}

mariadbd_bin() {
  if command -v mariadbd >/dev/null 2>&1; then command -v mariadbd; else echo /usr/sbin/mariadbd; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
  local dir=$1; shift
  local watch="" tls=0 server_id=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --watch) watch=$2; shift 2 ;;
      --tls) tls=1; shift ;;
      --tls-optional) tls=optional; shift ;;
      --server-id) server_id=$2; shift 2 ;;
      *) echo "sandbox: unknown option $1" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local data="$dir/data"
  local me; me=$(id -un)
  # A temporary directory of its own: servers started side by side (one per test binary) and
  # their bootstraps otherwise share /tmp, where one has been seen removing another's
  # temporary table file.
  mkdir -p "$dir/tmp"
  if [ ! -d "$data/mysql" ]; then
    mariadb-install-db --no-defaults --user="$me" --datadir="$data" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 || {
      echo "sandbox: mariadb-install-db failed, see $dir/install.log" >&2; cat "$dir/install.log" >&2; exit 1; }
  fi
  if [ "$tls" != 0 ]; then
    make_certs "$dir/tls"
    # launch (and restart) read the server's extra options from here.
    printf '%s\n' "--ssl-ca=$dir/tls/ca.pem" "--ssl-cert=$dir/tls/server-cert.pem" \
      "--ssl-key=$dir/tls/server-key.pem" >"$dir/extra-args"
    [ "$tls" = 1 ] && echo "--require-secure-transport=ON" >>"$dir/extra-args"
  fi
  # After --server-id=1 on the command line, so it wins.
  [ -n "$server_id" ] && echo "--server-id=$server_id" >>"$dir/extra-args"
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if launch "$dir" "$port"; then
      if [ -n "$watch" ]; then
        # Outlives the caller: stops the server and removes its files once the watched process exits.
        nohup bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
          >/dev/null 2>&1 &
      fi
      echo "port=$port socket=$dir/mysqld.sock"
      return 0
    fi
    # A port taken between probing and binding is the usual cause; try another.
  done
  echo "sandbox: mariadbd did not start; last lines of $dir/error.log:" >&2
  tail -n 20 "$dir/error.log" >&2 || true
  exit 1
}

# Makes, in DIR, a throwaway CA (ca.pem), a server certificate for localhost and 127.0.0.1
# (server-cert.pem, server-key.pem), a client certificate of that CA (client-cert.pem,
# client-key.pem), and a second, unrelated CA with a client certificate of its own (other-ca.pem,
# other-client-cert.pem, other-client-key.pem) for the tests of an untrusted server or client.
# EC P-256 keys: made in milliseconds, and both OpenSSL (the server) and rustls accept them.
# webpki (rustls) wants v3 certificates with the CA marked as one and the server's names as SANs
# (it ignores the CN), hence the explicit extensions.
make_certs() {
  local d=$1
  [ -f "$d/client-key.pem" ] && return 0
  mkdir -p "$d"
  local o="openssl"
  command -v openssl >/dev/null 2>&1 || { echo "sandbox: --tls needs the openssl command" >&2; exit 1; }
  ca() {  # name, subject
    $o req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=$2" -keyout "$d/$1-key.pem" -out "$d/$1.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      >/dev/null 2>&1
  }
  leaf() {  # name, ca name, subject, extensions
    $o req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$3" \
      -keyout "$d/$1-key.pem" -out "$d/$1.csr" >/dev/null 2>&1
    printf '%s\n' "basicConstraints=CA:FALSE" "$4" >"$d/$1.ext"
    $o x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2-key.pem" -CAcreateserial \
      -days 2 -extfile "$d/$1.ext" -out "$d/$1-cert.pem" >/dev/null 2>&1
    rm -f "$d/$1.csr" "$d/$1.ext"
  }
  ca ca "sfdbtools test CA" &&
    leaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth" &&
    leaf client ca "sfdbtools test client" "extendedKeyUsage=clientAuth" &&
    ca other-ca "unrelated test CA" &&
    leaf other-client other-ca "untrusted test client" "extendedKeyUsage=clientAuth" || {
    echo "sandbox: making the test certificates with openssl failed" >&2; exit 1; }
  # The server runs as this user and reads its key itself.
  chmod 600 "$d"/*-key.pem
}

# Starts mariadbd on DIR's datadir and PORT; succeeds once it answers, fails if it dies first.
launch() {
  local dir=$1 port=$2
  local data="$dir/data" sock="$dir/mysqld.sock" log="$dir/error.log"
  local me; me=$(id -un)
  local extra=()
  if [ -f "$dir/extra-args" ]; then mapfile -t extra <"$dir/extra-args"; fi
  "$(mariadbd_bin)" --no-defaults --user="$me" --datadir="$data" --tmpdir="$dir/tmp" --port="$port" \
    --bind-address=127.0.0.1 --socket="$sock" --pid-file="$dir/mysqld.pid" \
    --log-error="$log" --server-id=1 --log-bin="$dir/binlog" --log-basename=sandbox \
    --binlog-format=ROW --gtid-strict-mode=ON --gtid-domain-id=0 \
    --innodb-buffer-pool-size="${SANDBOX_BUFFER_POOL:-512M}" --innodb-log-file-size=256M --innodb-flush-log-at-trx-commit=2 \
    --max-allowed-packet=1G --skip-name-resolve --event-scheduler=ON \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci "${extra[@]}" \
    >/dev/null 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/server.pid"
  local i
  for i in $(seq 1 300); do
    if mariadb --no-defaults -uroot --socket="$sock" -e 'SELECT 1' >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

# Stops the server in DIR (clean shutdown, then kill); leaves its files.
shutdown_server() {
  local dir=$1
  local sock="$dir/mysqld.sock"
  if [ -f "$dir/server.pid" ]; then
    local pid; pid=$(cat "$dir/server.pid")
    mariadb-admin --no-defaults -uroot --socket="$sock" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

restart() {
  local dir=$1
  [ -f "$dir/port" ] || { echo "sandbox: no server in $dir" >&2; exit 1; }
  local port; port=$(cat "$dir/port")
  shutdown_server "$dir"
  # The old server's port may linger in TIME_WAIT for a moment; mariadbd sets SO_REUSEADDR.
  local attempt
  for attempt in 1 2 3 4 5; do
    if launch "$dir" "$port"; then
      echo "port=$port socket=$dir/mysqld.sock"
      return 0
    fi
    sleep 1
  done
  echo "sandbox: mariadbd did not restart on port $port; last lines of $dir/error.log:" >&2
  tail -n 20 "$dir/error.log" >&2 || true
  exit 1
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  shutdown_server "$dir"
  rm -rf "$dir"
}

case "${1:-}" in
  ensure-packages) ensure_packages ;;
  start) shift; ensure_packages; start "$@" ;;
  stop) shift; stop "$1" ;;
  restart) shift; restart "$1" ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
