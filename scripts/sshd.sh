#!/usr/bin/env bash
# Starts and stops a private OpenSSH server for the SSH tunnel tests (issue #18): its own config,
# a host key and a user key generated here, a free loopback port. It never touches the system's
# sshd service or an sshd it did not start.
#
#   scripts/sshd.sh ensure-packages          install openssh-server with apt when missing
#   scripts/sshd.sh start DIR [--watch PID] [--no-password]
#                                            start sshd in DIR; prints "port=N user=NAME
#                                            [pw_user=NAME]" (see below)
#                                            DIR/host_key.pub: the server's host key
#                                            DIR/known_hosts: a known_hosts line for it
#                                            DIR/user_key: the private key that logs in (no
#                                            passphrase); DIR/user_key_pass (PEM RSA) and
#                                            DIR/user_key_enc (OpenSSH ed25519): the same
#                                            user's keys with the passphrase "ssh key ✓"
#                                            --watch PID: stop it and delete DIR when PID exits
#                                            --no-password: key auth only, the password account
#                                            left alone (for a second sshd of a test: the
#                                            account is the machine's, and a start sets its
#                                            password and a stop locks it for every sshd)
#   scripts/sshd.sh stop DIR                 stop the sshd in DIR (its open connections too)
#                                            and delete DIR
#
# Key auth is for the user running the script (root in CI): it needs no system account. Password
# auth needs a system account with a password: as root, the script creates the dedicated account
# sfdbssh (no home, shell nologin, marked by its comment) when it is absent, sets a random
# password for each start (DIR/ssh_password) and locks it again at stop. An existing sfdbssh
# account without that comment is never changed: password auth is then off and no pw_user is
# printed. With password auth: prints "pw_user=sfdbssh" too.
set -euo pipefail

SSHD=/usr/sbin/sshd
PW_USER=sfdbssh
PW_MARK="sfdbtools SSH tunnel tests"

# Creates the password account when absent; succeeds when it is ours (by its comment).
password_account() {
  [ "$(id -u)" = 0 ] || return 1
  if ! getent passwd "$PW_USER" >/dev/null; then
    echo "sshd.sh: creating the system account $PW_USER for the password-auth tests" >&2
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --comment "$PW_MARK" "$PW_USER" >&2 || return 1
  fi
  [ "$(getent passwd "$PW_USER" | cut -d: -f5)" = "$PW_MARK" ]
}

ensure_packages() {
  if [ -x "$SSHD" ] && command -v ssh-keygen >/dev/null 2>&1; then return 0; fi
  echo "sshd.sh: installing openssh-server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The package's post-install would start the system's sshd; policy-rc.d stops that.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  apt-get install -y -qq openssh-server openssh-client >&2
  if [ "$created" = 1 ]; then rm -f "$policy"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
  local dir=$1; shift
  local watch="" with_password=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --watch) watch=$2; shift 2 ;;
      --no-password) with_password=0; shift ;;
      *) echo "sshd.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir"
  # sshd refuses to start without its privilege separation directory; Debian creates it only
  # when its service starts, which it never does here.
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C sfdb-test-host -f "$dir/host_key"
  [ -f "$dir/user_key" ] || ssh-keygen -q -t ed25519 -N '' -C sfdb-test-user -f "$dir/user_key"
  [ -f "$dir/user_key_pass" ] || ssh-keygen -q -t rsa -b 2048 -m PEM -N 'ssh key ✓' -C sfdb-test-pem -f "$dir/user_key_pass"
  [ -f "$dir/user_key_enc" ] || ssh-keygen -q -t ed25519 -N 'ssh key ✓' -C sfdb-test-enc -f "$dir/user_key_enc"
  cat "$dir/user_key.pub" "$dir/user_key_pass.pub" "$dir/user_key_enc.pub" >"$dir/authorized_keys"
  chmod 600 "$dir/authorized_keys"
  local me; me=$(id -un)
  local users=$me password_auth=no pw_line=""
  if [ "$with_password" = 1 ] && password_account; then
    python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$dir/ssh_password"
    chmod 600 "$dir/ssh_password"
    echo "$PW_USER:$(cat "$dir/ssh_password")" | chpasswd
    users="$me $PW_USER" password_auth=yes pw_line=" pw_user=$PW_USER"
  fi
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # DEBUG1: the log names each direct-tcpip target, which the tests check. StrictModes no:
    # DIR is under /tmp, whose modes sshd would otherwise judge. No PAM: it
    # would consult the system's account stack.
    cat >"$dir/sshd_config" <<CFG
ListenAddress 127.0.0.1:$port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $users
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication $password_auth
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
LogLevel DEBUG1
CFG
    if launch "$dir" "$port"; then
      echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
      if [ -n "$watch" ]; then
        # Outlives the caller: stops sshd and removes its files once the watched process exits.
        nohup bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
          >/dev/null 2>&1 &
      fi
      echo "port=$port user=$me$pw_line"
      return 0
    fi
  done
  echo "sshd.sh: sshd did not start; last lines of $dir/sshd.log:" >&2
  tail -n 20 "$dir/sshd.log" >&2 || true
  exit 1
}

# Starts sshd in the foreground (-D, logging to stderr: -e) in the background of this shell;
# succeeds once the port accepts a connection, fails if sshd dies first.
launch() {
  local dir=$1 port=$2
  "$SSHD" -D -e -f "$dir/sshd_config" >>"$dir/sshd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/server.pid"
  echo "$port" >"$dir/port"
  local i
  for i in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/server.pid" ]; then
    local pid; pid=$(cat "$dir/server.pid")
    # The listener's children serve the open connections and outlive it: end them too (by
    # their ids), so that stopping is an outage for the tunnels too (the fault tests' case).
    local child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill "$child" 2>/dev/null || true; done
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # The account's password was for this server only.
  if [ -f "$dir/ssh_password" ] && password_account; then passwd -q -l "$PW_USER" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  ensure-packages) ensure_packages ;;
  start) shift; ensure_packages; start "$@" ;;
  stop) shift; stop "$1" ;;
  *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
