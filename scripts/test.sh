#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and the two integration test binaries (tests/it: in
# parallel on one server; tests/serial: one at a time on another), each against a private
# MariaDB that the test harness starts itself (scripts/sandbox.sh). Installs what the tests need
# when missing.
#
#   scripts/test.sh                 everything
#   scripts/test.sh fidelity        only tests whose path matches (passed to cargo test); an
#                                   integration test's path starts with its file's name,
#                                   e.g. `restore::` for tests/it/restore.rs
#   SFDB_TEST_URL=mysql://root:pw@127.0.0.1:3306 scripts/test.sh   against an external server
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/sandbox.sh ensure-packages
# A real OpenSSH server for the SSH tunnel tests (tests/it/ssh.rs).
scripts/sshd.sh ensure-packages

missing=()
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# MariaDB's own test files (mysql-test/), replayed by tests/serial/mysql_test_suite.rs.
if [ -z "${SFDB_MYSQL_TEST_DIR:-}" ] && [ ! -d /usr/share/mysql/mysql-test/main ]; then
  missing+=(mariadb-test)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2
fi
if ! python3 -c 'import cryptography' >/dev/null 2>&1; then
  echo "test.sh: installing the python cryptography package (independent .enc implementation)" >&2
  python3 -m pip install --quiet cryptography >&2 || apt-get install -y -qq python3-cryptography >&2
fi
# A real S3 API server (moto's, from PyPI) for the object storage tests (tests/it/s3.rs).
scripts/s3server.sh ensure-packages

# The house's one structural rule no compiler checks: top-level modules never import each other
# in a cycle (prints the cycle and fails when one appears).
python3 scripts/module-cycles.py --quiet

# --no-fail-fast: one failing test binary must not hide the results of the others.
cargo test --no-fail-fast --lib --bins --tests -- "$@"
