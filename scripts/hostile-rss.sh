#!/usr/bin/env bash
# Peak RSS of `sfdbtools verify` on hostile files, and of `db-restore single --dry-run` when a
# server is given: whatever a file holds, memory must stay at the statement limit plus a
# constant (issue #19: under 300 MB with --max-statement-size 64M). Called by bench.sh; prints
# one line per case. The files are small compressed "bombs" that expand to SIZE bytes:
#   quote-zstd, quote-xz, quote-gzip  INSERT INTO t VALUES (' then SIZE bytes of 'a', never closed
#   comment-in-statement               SELECT 1 /* then SIZE bytes, never closed
#   comment-between                    /* then SIZE bytes before any statement: dropped as read,
#                                      so the whole stream is decompressed (the slowest case)
# and, with a server, two files of 12 *complete* statements of LIMIT less 4 MiB each, really
# restored (the server's max_allowed_packet must allow them; the sandbox's is 1G):
#   full-select                        SELECT LENGTH('…'): run on the main connection
#   full-insert                        our header, INSERT INTO t VALUES (…,'…'): row statements
#                                      over the restore's queue, run on one data connection
#
#   scripts/hostile-rss.sh BIN [SIZE] [LIMIT]      SIZE default 2G, LIMIT default 64M
#   HOSTILE_SERVER="--host H --port P --user U" scripts/hostile-rss.sh BIN    db-restore too
#   HOSTILE_DIR=/path ...                          keep the files there (made once, reused)
set -euo pipefail

bin=${1:?usage: scripts/hostile-rss.sh BIN [SIZE] [LIMIT]}
size=${2:-2G}
limit=${3:-64M}
for tool in zstd xz gzip; do
  command -v "$tool" >/dev/null || { echo "hostile-rss: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "hostile-rss: GNU time is missing (apt-get install time)" >&2; exit 1; }

dir=${HOSTILE_DIR:-}
if [ -z "$dir" ]; then
  dir=$(mktemp -d /tmp/sfdb-hostile.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"

# make NAME COMPRESSOR HEAD FILL: HEAD then SIZE bytes of FILL, compressed as it streams.
make() {
  local f=$dir/$1
  [ -s "$f" ] && return 0
  { printf '%s' "$3"; head -c "$size" /dev/zero | tr '\0' "$4"; } | $2 >"$f.part"
  mv "$f.part" "$f"
}
make quote-zstd.sql.zst "zstd -q -1 -T2" "SELECT 1;
INSERT INTO t VALUES ('" a
make quote-xz.sql.xz "xz -1 -T2" "SELECT 1;
INSERT INTO t VALUES ('" a
make quote-gzip.sql.gz "gzip -1" "SELECT 1;
INSERT INTO t VALUES ('" a
make comment-in-statement.sql.zst "zstd -q -1 -T2" "SELECT 1;
SELECT 2 /*" c
make comment-between.sql.zst "zstd -q -1 -T2" "SELECT 1;
/*" c
if [ -n "${HOSTILE_SERVER:-}" ]; then
  for kind in select insert; do
    f=$dir/full-$kind.sql
    [ -s "$f" ] || python3 - "$f.part" "$kind" "$limit" <<'PY'
import sys
path, kind, limit = sys.argv[1], sys.argv[2], sys.argv[3]
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
size = int(limit[:-1]) * units[limit[-1].upper()] if limit[-1].upper() in units else int(limit)
big = b"a" * (size - (4 << 20))
with open(path, "wb") as f:
    if kind == "insert":
        f.write(b"-- sfdbtools hostile-rss\nCREATE TABLE t (id INT PRIMARY KEY, s LONGTEXT);\n")
    for i in range(12):
        if kind == "insert":
            f.write(b"INSERT INTO t VALUES (%d,'" % i + big + b"');\n")
        else:
            f.write(b"SELECT LENGTH('" + big + b"');\n")
    if kind == "insert":
        f.write(b"-- Dump completed\n")
PY
    [ -s "$f" ] || mv "$f.part" "$f"
  done
fi

# rss LABEL COMMAND…: peak RSS in MB and the exit code.
rss() {
  local label=$1 out kb code
  shift
  out=$(mktemp)
  set +e
  /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>&1
  code=$?
  set -e
  kb=$(tail -n 1 "$out")
  rm -f "$out"
  printf 'hostile file: peak RSS %-44s %6d MB (exit %d)%s\n' "$label" $((kb / 1024)) "$code" \
    "$([ $((kb / 1024)) -lt 300 ] || echo '  OVER the 300 MB target')"
}

for f in quote-zstd.sql.zst quote-xz.sql.xz quote-gzip.sql.gz comment-in-statement.sql.zst \
  comment-between.sql.zst; do
  rss "of verify --max-statement-size $limit, $f:" \
    "$bin" -q verify --file "$dir/$f" --max-statement-size "$limit"
  if [ -n "${HOSTILE_SERVER:-}" ]; then
    # shellcheck disable=SC2086 # the connection flags are words
    rss "of db-restore --dry-run, $f:" "$bin" -q db-restore single --dry-run \
      --target-db sfdb_hostile_rss --file "$dir/$f" --max-statement-size "$limit" $HOSTILE_SERVER
  fi
done
if [ -n "${HOSTILE_SERVER:-}" ]; then
  for f in full-select.sql full-insert.sql; do
    rss "of verify --max-statement-size $limit, $f:" \
      "$bin" -q verify --file "$dir/$f" --max-statement-size "$limit"
    # shellcheck disable=SC2086 # the connection flags are words
    rss "of db-restore (real), $f:" "$bin" -q db-restore single --drop-target -t hostile-rss \
      --target-db sfdb_hostile_rss --file "$dir/$f" --max-statement-size "$limit" $HOSTILE_SERVER
  done
fi
