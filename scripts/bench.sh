#!/usr/bin/env bash
# Whole-run benchmark: sfdbtools against mysqldump (mariadb-dump) and mydumper on one throwaway
# MariaDB, same dataset, runs alternated and repeated; then restores of the dumps: the stock
# client (`mariadb db < dump.sql`), myloader and sfdbtools db-restore. Prints wall time, CPU
# time, peak RSS, output (or input) size and ratios. Installs mydumper, zstd and GNU time with
# apt when missing. Last, the peak RSS of verify and db-restore on hostile files
# (scripts/hostile-rss.sh).
#
#   scripts/bench.sh                    ~1.5 GB of SQL, 2 repetitions
#   BENCH_SCALE=0.1 BENCH_REPEAT=1 scripts/bench.sh    a quick look
#   BENCH_KEEP=1 ...                    keep the server and dataset in /tmp/sfdb-bench for reruns
#   BENCH_RESTORE=0 ...                 dumps only (the restores take three quarters of the run)
#   BENCH_BASELINE=/path/to/sfdbtools   also time another build (e.g. the previous commit's) in
#                                       the same rounds, and print this build's paired ratio to it
#   BENCH_S3=0 ...                      leave out the object storage case (below)
#   BENCH_S3_PART_SIZE=8M ...           its --s3-part-size (default 16M, the tool's default)
#   BENCH_COPY=0 ...                    leave out the server-to-server case (below); BENCH_COPY=only
#                                       runs it alone (with the dataset, no other case)
#   BENCH_COPY_REPEAT=N ...             its rounds (default BENCH_REPEAT)
#   BENCH_POOLS="6G 1G" ...             the buffer pool sizes the dump and restore rounds run at,
#                                       one block of rounds each (default: both; the dataset is
#                                       about 1.5 GB in InnoDB, so 1G holds only part of it)
#
# Each round alternates the order of the tools (ours first in odd rounds, last in even ones),
# and every timed run waits first until the server has flushed what the previous run left
# dirty (at most a minute), so a run does not pay for the one before it. The buffer pool is
# resized online (SET GLOBAL innodb_buffer_pool_size) between blocks.
#
# The native dump also runs with --statement-size 4M and 16M (the default is 1M): larger
# statements once made dumps quadratic (80 times slower at 4M); their ratio to 1M must stay 1.
# And over TLS (VERIFY_IDENTITY; every connection, the row reader's too): the server offers TLS
# to whoever asks, so our other runs say --ssl-mode DISABLED (the other tools do not ask).
#
# Object storage (issue #22): the zstd dump into s3://bench/zstd on a local S3 API server
# (moto, scripts/s3server.sh, installed with pip when missing) against the same dump to local
# disk, the two runs adjacent and their order alternating by round; then the same bytes (the
# local dump) uploaded with boto3 in parts of the same size, four in flight, and moto's own CPU
# time during each: moto is one Python process on the same cores, so the ratio says as much
# about it as about the uploader. Its keys go through the environment only; ~/.aws is not
# read (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are /dev/null) nor written.
#
# Server to server (issue #23): a second sandbox server ($BENCH_DIR-target) is the target.
# `db-copy single --database bench` (dump and restore at once through the in-memory pipe) against
# the sequential pair a user would run without it, `db-backup` to a file and `db-restore` of that
# file, timed as one run: with the tool's default codec (zstd 5), and with `-c none`. The target
# database is dropped before each run, untimed; the order alternates by round, and the paired
# ratio copy / pair is printed with both servers' CPU time during each run (from /proc). The
# first copy and the first pair are checked: CHECKSUM TABLE of every bench table equal on both
# servers, so a copy that lost rows cannot look fast.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=${BENCH_SCALE:-1}
repeat=${BENCH_REPEAT:-2}
threads=${BENCH_THREADS:-2}
work=${BENCH_DIR:-/tmp/sfdb-bench}
copy=${BENCH_COPY:-1}
copy_repeat=${BENCH_COPY_REPEAT:-$repeat}
# The copy's target: beside the bench server's directory, not in it (stopping one server
# deletes its directory).
work2=$work-target

need=()
command -v mydumper >/dev/null || need+=(mydumper)
command -v zstd >/dev/null || need+=(zstd)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
scripts/sandbox.sh ensure-packages

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/sfdbtools

# The dataset should fit in memory, as a production buffer pool is sized to its hot data;
# otherwise every tool measures the disk.
pools=${BENCH_POOLS:-6G 1G}
export SANDBOX_BUFFER_POOL=${SANDBOX_BUFFER_POOL:-$(tr ' ' '\n' <<<"$pools" | sort -h | tail -n1)}
if [ ! -f "$work/port" ] || [ ! -f "$work/tls/ca.pem" ] ||
  ! mariadb --no-defaults -uroot --socket="$work/mysqld.sock" -e 'SELECT 1' >/dev/null 2>&1; then
  [ -f "$work/port" ] && scripts/sandbox.sh stop "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
  scripts/sandbox.sh start "$work" --tls-optional >/dev/null
fi
port2=""
if [ "$copy" != 0 ]; then
  if [ ! -f "$work2/port" ] ||
    ! mariadb --no-defaults -uroot --socket="$work2/mysqld.sock" -e 'SELECT 1' >/dev/null 2>&1; then
    [ -f "$work2/port" ] && scripts/sandbox.sh stop "$work2" >/dev/null 2>&1 || true
    rm -rf "$work2"
    scripts/sandbox.sh start "$work2" --server-id 2 >/dev/null
  fi
  port2=$(cat "$work2/port")
fi
# This build's runs in plaintext, like the other tools'; a baseline without --ssl-mode has no
# TLS at all.
plain=(--ssl-mode DISABLED)
base_plain=()
if [ -n "${BENCH_BASELINE:-}" ] && "$BENCH_BASELINE" db-backup --help | grep -q -- --ssl-mode; then
  base_plain=(--ssl-mode DISABLED)
fi
tls=(--ssl-mode VERIFY_IDENTITY --ssl-ca "$work/tls/ca.pem")
port=$(cat "$work/port")
sql() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" --protocol=TCP "$@"; }
sql2() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$port2" --protocol=TCP "$@"; }
s3dir=""
on_exit() {
  if [ -n "$s3dir" ]; then scripts/s3server.sh stop "$s3dir" >/dev/null 2>&1 || true; fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    scripts/sandbox.sh stop "$work" >/dev/null 2>&1 || true
    scripts/sandbox.sh stop "$work2" >/dev/null 2>&1 || true
  fi
}
trap on_exit EXIT

rows() { awk -v s="$scale" -v n="$1" 'BEGIN { printf "%d", n * s }'; }
if [ "$(sql -N -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='bench'")" = 0 ]; then
  echo "== generating the dataset (scale $scale)" >&2
  sql -e "CREATE DATABASE bench"
  sql bench <<SQL
CREATE TABLE big (
  id BIGINT NOT NULL PRIMARY KEY, account INT NOT NULL, amount DECIMAL(14,2), ratio DOUBLE,
  weight FLOAT, label VARCHAR(64), created DATETIME(6), status ENUM('new','paid','void'),
  note TEXT, KEY (account)) ENGINE=InnoDB;
INSERT INTO big SELECT seq, seq % 100000, (seq * 7919 % 1000000) / 100, seq / 3.0e0,
  (seq % 1000) / 7.0, CONCAT('label-', seq % 5000, '-', SHA1(seq) ), 
  TIMESTAMP('2020-01-01') + INTERVAL seq SECOND, ELT(1 + seq % 3, 'new', 'paid', 'void'),
  IF(seq % 10 = 0, NULL, CONCAT('it''s line ', seq, '\n\tquoted "', seq % 97, '"'))
  FROM seq_1_to_$(rows 4000000);
CREATE TABLE blobs (id INT NOT NULL PRIMARY KEY, kind TINYINT, payload BLOB) ENGINE=InnoDB;
INSERT INTO blobs SELECT seq, seq % 7, UNHEX(REPEAT(SHA2(seq, 256), 3)) FROM seq_1_to_$(rows 2000000);
CREATE TABLE nopk (a INT, b VARCHAR(40), c DATE) ENGINE=InnoDB;
INSERT INTO nopk SELECT seq % 1000, MD5(seq), DATE('2000-01-01') + INTERVAL (seq % 9000) DAY
  FROM seq_1_to_$(rows 1000000);
SQL
  for i in $(seq 1 40); do
    sql bench -e "CREATE TABLE small_$i (id INT PRIMARY KEY, v VARCHAR(20), n INT);
      INSERT INTO small_$i SELECT seq, CONCAT('v', seq), seq * $i FROM seq_1_to_1000;"
  done
  sql -e "ANALYZE TABLE bench.big, bench.blobs, bench.nopk" >/dev/null
fi

# One small MyISAM table, as legacy schemas have: it is outside the snapshot, so commits on the
# whole server wait while it is read (the writer case below measures how long).
if [ "$(sql -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='bench' AND TABLE_NAME='legacy_myisam'")" = 0 ]; then
  sql bench -e "CREATE TABLE legacy_myisam (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=MyISAM;
    INSERT INTO legacy_myisam SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000;"
fi

s3stats=$work/s3.tsv
: >"$s3stats"
commits=$work/commits.tsv
: >"$commits"
# writer_during NAME OUTPUT_PATH COMMAND…: a timed dump while scripts/commit_probe.py commits one
# row at a time into another database; records the slowest commit and the metadata's
# commits_blocked_ms.
writer_during() {
  local name=$1 out=$2
  rm -f "$work/probe.stop" "$work/probe.ready"
  python3 scripts/commit_probe.py --socket "$work/mysqld.sock" --db bench_probe \
    --until-file "$work/probe.stop" --ready-file "$work/probe.ready" >"$work/probe.out" &
  local probe=$! waited=0
  until [ -e "$work/probe.ready" ]; do
    sleep 0.1; waited=$((waited + 1))
    if [ $waited -gt 300 ]; then echo "bench: the commit probe never committed" >&2; exit 1; fi
  done
  run "$@"
  touch "$work/probe.stop"
  wait "$probe"
  local slowest blocked
  slowest=$(sed -n 's/.*max_ms=\([0-9]*\).*/\1/p' "$work/probe.out")
  blocked=$(cat "$out"/*.meta.json | sed -n 's/.*"commits_blocked_ms": \([0-9]*\).*/\1/p' | head -n1)
  printf '%s\t%s\t%s\n' "$name" "$slowest" "${blocked:-?}" >>"$commits"
  echo "   $name: slowest concurrent commit ${slowest} ms, commits blocked ${blocked:-?} ms" >&2
}
# s3env COMMAND…: COMMAND (a function too) in a subshell with the S3 server's keys in its
# environment (not on a command line) and none of the machine's AWS settings.
s3env() (
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_REGION \
    AWS_DEFAULT_REGION
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null S3_PORT=$s3port \
    AWS_ACCESS_KEY_ID=$s3key AWS_SECRET_ACCESS_KEY=$s3secret
  "$@"
)
# s3tool ARGS…: scripts/s3tool.py against the S3 server.
s3tool() { s3env python3 scripts/s3tool.py "$@"; }
# moto_cpu: the S3 server's user+sys CPU so far, in clock ticks.
moto_cpu() { awk '{ print $14 + $15 }' "/proc/$s3pid/stat"; }
# server_cpu DIR: that sandbox server's user+sys CPU so far, in clock ticks.
server_cpu() { awk '{ print $14 + $15 }' "/proc/$(cat "$1/server.pid")/stat"; }
# timed NAME SIZE_PATH COMMAND…: time one run, record wall/user/sys/rss, the size of SIZE_PATH
# and the bench server's CPU during the run.
timed() {
  local name=$1 out=$2; shift 2
  local t s0 s1
  s0=$(server_cpu "$work")
  if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt"; then
    echo "bench: $name failed:" >&2
    cat "$work/stderr.txt" >&2
    exit 1
  fi
  s1=$(server_cpu "$work")
  t=$(tail -n1 "$work/time.txt")
  local size
  case $out in
    s3://*) out=${out#s3://}; size=$(s3tool du "${out%%/*}" "${out#*/}/" | cut -d' ' -f1) ;;
    *) size=$(du -sb "$out" | cut -f1) ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$(tr ' ' '\t' <<<"$t")" "$size" \
    "$(awk -v t="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')" >>"$results"
  echo "   $name: wall ${t%% *} s" >&2
}
# quiet: waits (a minute at most) until the server has written out what the run before left
# dirty in its buffer pool, then for the disk: each run starts on a server at rest.
quiet() {
  local i dirty
  for i in $(seq 1 120); do
    dirty=$(sql -N -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
      WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'")
    [ "$dirty" -lt 2000 ] && break
    sleep 0.5
  done
  sync
}
# set_pool SIZE: resizes the server's buffer pool online and waits (two minutes at most) until
# the resize is done.
set_pool() {
  local bytes i
  bytes=$(numfmt --from=iec "$1")
  sql -e "SET GLOBAL innodb_buffer_pool_size = $bytes"
  for i in $(seq 1 240); do
    # The status is empty, or says "Completed …", once no resize is under way.
    if [ "$(sql -N -e "SELECT @@innodb_buffer_pool_size")" = "$bytes" ] &&
      sql -N -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
        WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_RESIZE_STATUS'" | grep -qE '^(Completed.*)?$'; then
      echo "== buffer pool $1" >&2
      return
    fi
    sleep 0.5
  done
  echo "bench: the buffer pool did not reach $1 in two minutes:" >&2
  sql -e "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'" >&2
  exit 1
}
# run NAME OUTPUT_PATH COMMAND…: a dump into a fresh OUTPUT_PATH, timed.
run() {
  rm -rf "$2"
  quiet
  timed "$@"
}
# restore NAME INPUT_PATH COMMAND…: a load into an empty database `restored`, timed (the drop
# of the previous copy is not).
restore() {
  sql -e "DROP DATABASE IF EXISTS restored; CREATE DATABASE restored"
  quiet
  timed "$@"
}
s3=${BENCH_S3:-1}
dump_rounds=$repeat
restore_rounds=$repeat
[ "${BENCH_RESTORE:-1}" = 0 ] && restore_rounds=0
if [ "$copy" = only ]; then s3=0; dump_rounds=0; restore_rounds=0; fi
s3part=${BENCH_S3_PART_SIZE:-16M}
if [ "$s3" = 1 ]; then
  # --watch: stopped with this script even when the trap cannot run (SIGKILL).
  s3dir=$work/s3
  s3port=$(scripts/s3server.sh start "$s3dir" --watch $$ | sed -n 's/^port=//p')
  read -r s3key s3secret <"$s3dir/credentials"
  s3pid=$(cat "$s3dir/server.pid")
  s3tool mb bench
fi
o=$work/out
mkdir -p "$o"
dump_zstd() {
  run "sfdbtools -j$threads zstd-3" "$o/native-zst" "$bin" -q db-backup single --database bench \
    --host 127.0.0.1 --port "$port" --user root -o "$o/native-zst" -t BENCH -c zstd -l 3 \
    --skip-encrypt -j "$threads" "${plain[@]}"
}
# The same dump into the bucket; records moto's CPU during it and the parts uploaded.
dump_zstd_s3() {
  s3tool rm bench zstd/
  sync
  local before after objects parts
  before=$(moto_cpu)
  s3env timed "sfdbtools -j$threads zstd-3 to s3" s3://bench/zstd "$bin" -q db-backup single \
    --database bench --host 127.0.0.1 --port "$port" --user root -o s3://bench/zstd -t BENCH \
    -c zstd -l 3 --skip-encrypt -j "$threads" "${plain[@]}" \
    --s3-endpoint "http://127.0.0.1:$s3port" --s3-part-size "$s3part"
  after=$(moto_cpu)
  read -r _ objects parts <<<"$(s3tool du bench zstd/)"
  printf 'dump\t%s\t%s\t%s\n' "$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { print t / hz }')" "$objects" "$parts" >>"$s3stats"
  echo "   (moto CPU $(tail -n1 "$s3stats" | cut -f2) s; $objects objects, $parts parts)" >&2
}
# The local dump's bytes uploaded by boto3 the same way (moto's own cost for them, with another
# client), the parts and the completion timed apart.
put_boto3() {
  local f before after
  f=$(ls "$o"/native-zst/*.sql.zst | grep -v "_users.sql.zst$")
  before=$(moto_cpu)
  s3env timed "boto3 PUT of the zstd dump" "$f" python3 scripts/s3tool.py put bench ref/dump.zst \
    "$f" "$(numfmt --from=iec "$s3part" | awk '{ print $1 / 1048576 }')" "$work/put-times"
  after=$(moto_cpu)
  printf 'boto3\t%s\t\t\t%s\n' "$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { print t / hz }')" "$(tr ' ' '\t' <"$work/put-times")" >>"$s3stats"
  echo "   (moto CPU $(tail -n1 "$s3stats" | cut -f2) s; parts $(tail -n1 "$s3stats" | cut -f5) s," \
    "completion $(tail -n1 "$s3stats" | cut -f6) s)" >&2
  s3tool rm bench ref/
}
dump_native() {
  run "sfdbtools -j$threads" "$o/native" "$bin" -q db-backup single --database bench --host 127.0.0.1 \
    --port "$port" --user root -o "$o/native" -t BENCH -c none --skip-encrypt -j "$threads" "${plain[@]}"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    run "baseline -j$threads" "$o/baseline" "$BENCH_BASELINE" -q db-backup single --database bench \
      --host 127.0.0.1 --port "$port" --user root -o "$o/baseline" -t BENCH -c none --skip-encrypt \
      -j "$threads" "${base_plain[@]}"
  fi
}
dump_peers() {
  run "mysqldump" "$o/mysqldump.sql" bash -c "mariadb-dump --no-defaults -uroot -h127.0.0.1 -P$port \
    --protocol=TCP --single-transaction --hex-blob bench > '$o/mysqldump.sql'"
  run "mydumper -t$threads" "$o/mydumper" mydumper -h 127.0.0.1 -P "$port" -u root -B bench \
    -t "$threads" --rows 500000 -o "$o/mydumper"
}
dump_round() {
  local r=$1
  echo "== round $r" >&2
  if [ $((r % 2)) = 1 ]; then dump_native; dump_peers; else dump_peers; dump_native; fi
  # The other cases once, with the first buffer pool.
  [ "$pool" = "$first_pool" ] || return 0
  run "sfdbtools -j$threads tls" "$o/native-tls" "$bin" -q db-backup single --database bench \
    --host 127.0.0.1 --port "$port" --user root -o "$o/native-tls" -t BENCH -c none --skip-encrypt \
    -j "$threads" "${tls[@]}"
  writer_during "sfdbtools -j$threads + writer" "$o/native-w" "$bin" -q db-backup single \
    --database bench --host 127.0.0.1 --port "$port" --user root -o "$o/native-w" -t BENCH -c none \
    --skip-encrypt -j "$threads" "${plain[@]}"
  # One output path for both: only the time matters, and the disk holds one more copy.
  for size in 4M 16M; do
    run "statement-size $size -j$threads" "$o/stmt" "$bin" -q db-backup single --database bench \
      --host 127.0.0.1 --port "$port" --user root -o "$o/stmt" -t BENCH -c none --skip-encrypt \
      -j "$threads" --statement-size "$size" "${plain[@]}"
  done
  if [ "$s3" != 1 ]; then
    dump_zstd
  elif [ $((r % 2)) = 1 ]; then
    dump_zstd; dump_zstd_s3; put_boto3
  else
    dump_zstd_s3; dump_zstd; put_boto3
  fi
  run "sfdbtools -j$threads zstd-3 enc" "$o/native-enc" env SFDB_BACKUP_ENCRYPTION_KEY=bench "$bin" -q \
    db-backup single --database bench --host 127.0.0.1 --port "$port" --user root -o "$o/native-enc" \
    -t BENCH -c zstd -l 3 -j "$threads" "${plain[@]}"
  run "mysqldump | zstd -3 -T0" "$o/mysqldump.sql.zst" bash -c "mariadb-dump --no-defaults -uroot \
    -h127.0.0.1 -P$port --protocol=TCP --single-transaction --hex-blob bench | zstd -3 -T0 -q > '$o/mysqldump.sql.zst'"
}

# Restores of the uncompressed native dump (the stock client and ours read the same file) and
# of the mydumper dump. myloader keeps its load out of the binary log by default (-e writes
# it); ours writes it like the stock client unless --skip-binlog: each pair is measured like
# for like.
restore_stock() {
  restore "restore: mariadb < dump.sql" "$native" bash -c "mariadb --no-defaults -uroot \
    -h127.0.0.1 -P$port --protocol=TCP --max-allowed-packet=1G restored < '$native'"
}
restore_myloader() {
  restore "restore: myloader -t$threads" "$o/mydumper" myloader -h 127.0.0.1 -P "$port" -u root \
    -d "$o/mydumper" -B restored -t "$threads" -o
  restore "restore: myloader -t$threads -e" "$o/mydumper" myloader -h 127.0.0.1 -P "$port" -u root \
    -d "$o/mydumper" -B restored -t "$threads" -o -e
}
restore_ours() {
  restore "restore: sfdbtools -j$threads" "$native" "$bin" -q db-restore single --file "$native" \
    --target-db restored --host 127.0.0.1 --port "$port" --user root -t BENCH -j "$threads" "${plain[@]}"
  restore "restore: sfdbtools -j$threads nobinlog" "$native" "$bin" -q db-restore single \
    --file "$native" --target-db restored --host 127.0.0.1 --port "$port" --user root -t BENCH \
    -j "$threads" --skip-binlog "${plain[@]}"
}
# The baseline restores its own dump (the file format may differ between the builds), next to
# ours: first in odd rounds, last in even ones, so that neither build always follows the same
# run (always last, it once measured 34-42 s against ours' 29-30 s).
restore_baseline() {
  if [ -n "${BENCH_BASELINE:-}" ]; then
    base=$(ls "$o"/baseline/*.sql | grep -v "_users.sql$")
    restore "restore: baseline -j$threads" "$base" "$BENCH_BASELINE" -q db-restore single \
      --file "$base" --target-db restored --host 127.0.0.1 --port "$port" --user root -t BENCH \
      -j "$threads" "${base_plain[@]}"
  fi
}
restore_round() {
  local r=$1
  echo "== restore round $r" >&2
  native=$(ls "$o"/native/*.sql | grep -v "_users.sql$")
  if [ $((r % 2)) = 1 ]; then
    restore_baseline; restore_ours; restore_myloader; restore_stock
  else
    restore_stock; restore_myloader; restore_ours; restore_baseline
  fi
}
# One block of rounds per buffer pool size, each into its own results file; the summary below
# prints each block's ratios.
first_pool=${pools%% *}
for pool in $pools; do
  set_pool "$pool"
  # Untimed: one read of every table, so the first timed run does not fill the pool alone.
  mariadb-dump --no-defaults -uroot -h127.0.0.1 -P"$port" --protocol=TCP --single-transaction \
    --hex-blob bench >/dev/null
  results=$work/results-$pool.tsv
  : >"$results"
  for r in $(seq 1 "$dump_rounds"); do dump_round "$r"; done
  # Restores after all dump rounds: a restore leaves the server flushing and purging a
  # gigabyte for a while, which would slow the dumps that follow it.
  for r in $(seq 1 "$restore_rounds"); do restore_round "$r"; done
done
# The copy case runs with the largest buffer pool, as the server was started.
set_pool "$SANDBOX_BUFFER_POOL"
results=$work/results-copy.tsv
: >"$results"

# The copy case (#23), after the restores for the same reason, and last: its target is another
# server, but both servers share the two cores.
copystats=$work/copy.tsv
: >"$copystats"
# copy_timed NAME SIZE_PATH COMMAND…: a run into the second server's empty bench (the drop of
# the previous copy is not timed), with both servers' CPU during it and, for a pair, the time
# of its two halves.
copy_timed() {
  # RESET MASTER: every run writes the whole database into the target's binary log; the
  # rounds would otherwise fill the disk with it.
  sql2 -e "DROP DATABASE IF EXISTS bench; RESET MASTER"
  rm -f "$work/pair-times"
  sync
  local s0 t0 s1 t1 halves=""
  s0=$(server_cpu "$work"); t0=$(server_cpu "$work2")
  timed "$@"
  s1=$(server_cpu "$work"); t1=$(server_cpu "$work2")
  [ -f "$work/pair-times" ] && halves=$(cat "$work/pair-times")
  printf '%s\t%s\t%s\t%s\n' "$1" "$(awk -v t="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')" \
    "$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')" "$halves" >>"$copystats"
  echo "   (CPU: source server $(tail -n1 "$copystats" | cut -f2) s, target server" \
    "$(tail -n1 "$copystats" | cut -f3) s${halves:+; dump and restore $(tr '\t' '+' <<<"$halves") s};" \
    "load average $(cut -d' ' -f1 /proc/loadavg))" >&2
}
db_copy() {
  copy_timed "copy: db-copy -j$threads" /dev/null "$bin" -q db-copy single --database bench \
    --host 127.0.0.1 --port "$port" --user root --target-host 127.0.0.1 --target-port "$port2" \
    --target-user root -t BENCH -j "$threads" --drop-target "${plain[@]}" --target-ssl-mode DISABLED
}
# pair_body BIN DIR TIMES SOURCE_PORT TARGET_PORT THREADS DUMP_FLAGS…: db-backup of bench into
# DIR, then db-restore of its file into the target; one process for GNU time to measure. The
# wall time of each half goes to TIMES: the restore's half is the least a copy could take if
# it hid the dump entirely.
pair_body() {
  local bin=$1 dir=$2 times=$3 src=$4 dst=$5 j=$6 f a b c
  shift 6
  a=$(date +%s.%N)
  "$bin" -q db-backup single --database bench --host 127.0.0.1 --port "$src" --user root \
    -o "$dir" -t BENCH -j "$j" --ssl-mode DISABLED "$@" >/dev/null
  b=$(date +%s.%N)
  f=$(ls "$dir"/*.sql* | grep -v -e "_users\.sql" -e "\.meta\.json$")
  "$bin" -q db-restore single --file "$f" --target-db bench --host 127.0.0.1 --port "$dst" \
    --user root -t BENCH -j "$j" --drop-target --ssl-mode DISABLED
  c=$(date +%s.%N)
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "%.2f\t%.2f\n", b - a, c - b }' >"$times"
}
# pair NAME DUMP_FLAGS…: the sequential pair through a fresh file, timed as one run.
pair() {
  local name=$1
  shift
  rm -rf "$o/pair"
  # -e: a half that fails fails the run (timed stops the bench), never a fast "pair".
  copy_timed "$name" "$o/pair" bash -c "set -euo pipefail; $(declare -f pair_body); pair_body \"\$@\"" pair_body \
    "$bin" "$o/pair" "$work/pair-times" "$port" "$port2" "$threads" "$@"
}
pair_default() { pair "copy: backup+restore -j$threads default"; }
pair_none() { pair "copy: backup+restore -j$threads -c none" -c none; }
# check_copy WHAT: every base table of bench has the same CHECKSUM TABLE on both servers.
check_copy() {
  local tables a b
  tables=$(sql -N -e "SELECT GROUP_CONCAT(CONCAT('bench.\`', TABLE_NAME, '\`') ORDER BY TABLE_NAME)
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_TYPE = 'BASE TABLE'")
  a=$(sql -N -e "CHECKSUM TABLE $tables EXTENDED" 2>&1)
  b=$(sql2 -N -e "CHECKSUM TABLE $tables EXTENDED" 2>&1)
  if [ "$a" != "$b" ] || grep -q NULL <<<"$a"; then
    echo "bench: after $1 the target's bench differs from the source's (CHECKSUM TABLE):" >&2
    diff <(echo "$a") <(echo "$b") >&2 || true
    exit 1
  fi
  echo "   $1: CHECKSUM TABLE equal on both servers for $(wc -l <<<"$a") tables" >&2
}
[ "$copy" = 0 ] && copy_repeat=0
mkdir -p "$o"
for r in $(seq 1 "$copy_repeat"); do
  echo "== copy round $r" >&2
  if [ $((r % 2)) = 1 ]; then
    db_copy
    [ "$r" = 1 ] && check_copy "db-copy"
    pair_default
    [ "$r" = 1 ] && check_copy "db-backup + db-restore"
    pair_none
  else
    pair_none; pair_default; db_copy
  fi
done

if [ "$copy" != only ]; then
echo
echo "a writer in another database during a dump of bench (one 1000-row MyISAM table among the InnoDB ones):"
awk -F'\t' '{ printf "  %-34s slowest commit %6d ms   commits blocked (metadata) %s ms\n", $1, $2, $3
  if ($2 > worst) worst = $2 }
  END { printf "  slowest commit of all rounds: %d ms (target <= 1000)\n", worst }' "$commits"
# summary FILE: one block's table and ratios.
summary() {
awk -F'\t' '
  # The copy case has its summary below.
  $1 ~ /^copy: / { next }
  { n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3 + $4; m[$1] = ($5 > m[$1] ? $5 : m[$1]); s[$1] = $6;
    sv[$1, n[$1]] = $7;
    if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  function med(a, name, cnt,   i, j, t, v) {
    for (i = 1; i <= cnt; i++) v[i] = a[name, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2 }
  # The median of the ratios of runs in the same round: the speed of this machine drifts by 15 %
  # over minutes, and runs of one round are minutes apart at most.
  function paired(a, b,   i, cnt, q) {
    cnt = n[a] < n[b] ? n[a] : n[b]
    for (i = 1; i <= cnt; i++) q["r", i] = w[a, i] / w[b, i]
    return med(q, "r", cnt) }
  END {
    printf "%-36s %8s %8s %9s %9s %9s\n", "run", "wall s", "cpu s", "server s", "rss MB", "size MB"
    for (i = 1; i <= k; i++) { r = order[i]; W[r] = med(w, r, n[r]); C[r] = med(c, r, n[r])
      printf "%-36s %8.2f %8.2f %9.2f %9.1f %9.1f\n", r, W[r], C[r], med(sv, r, n[r]), m[r] / 1024, s[r] / 1048576 }
    print ""
    # The plain native dump: not the compressed runs, not the run beside a writer.
    for (i = 1; i <= k; i++) if (order[i] ~ /^sfdbtools/ && order[i] !~ /zstd|writer|tls/) nat = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^sfdbtools.* tls$/) natt = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^sfdbtools.*zstd-3$/) natz = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /enc$/) nate = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^mydumper/) myd = order[i]
    printf "native / mysqldump wall:               %.2f (paired %.2f; target <= 0.35)\n", W[nat] / W["mysqldump"], paired(nat, "mysqldump")
    printf "native / mydumper wall:                %.2f (paired %.2f; target <= 0.60)\n", W[nat] / W[myd], paired(nat, myd)
    # The cases below run with the first buffer pool only (see dump_round).
    if (natz != "") {
    printf "native zstd / mysqldump|zstd wall:     %.2f (paired %.2f; target <= 0.50)\n", W[natz] / W["mysqldump | zstd -3 -T0"], paired(natz, "mysqldump | zstd -3 -T0")
    printf "encryption overhead (zstd+enc / zstd): %.2f (paired %.2f; target <= 1.15)\n", W[nate] / W[natz], paired(nate, natz)
    printf "TLS overhead (VERIFY_IDENTITY / plain): %.2f (paired %.2f; target <= 1.30)\n", W[natt] / W[nat], paired(natt, nat)
    }
    for (i = 1; i <= k; i++) if (order[i] ~ /^restore: sfdbtools/ && order[i] !~ /nobinlog/) rs = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^restore: sfdbtools.*nobinlog/) rsn = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^restore: myloader/ && order[i] !~ / -e$/) rml = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^restore: myloader.* -e$/) rmle = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^baseline/) base = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^statement-size/) {
      split(order[i], part, " ")
      printf "%-39s%.2f (paired %.2f; target <= 1.10)\n", "native " part[2] " / 1M statements wall:", W[order[i]] / W[nat], paired(order[i], nat) }
    if (base != "")
      printf "native / baseline dump wall:           %.2f (paired %.2f; within noise is 0.9-1.1)\n", W[nat] / W[base], paired(nat, base)
    for (i = 1; i <= k; i++) if (order[i] ~ / to s3$/) nats3 = order[i]
    for (i = 1; i <= k; i++) if (order[i] ~ /^boto3 PUT/) b3 = order[i]
    if (nats3 != "") {
      printf "zstd dump to s3 / to local disk wall:  %.2f (paired %.2f; target <= 1.25)\n", W[nats3] / W[natz], paired(nats3, natz)
      # The RSS column is in MiB; the bound is in MB.
      printf "peak RSS of the zstd dump to s3:       %.1f MiB = %.0f MB, the largest of the rounds (target <= 200 MB)\n", m[nats3] / 1024, m[nats3] * 1.024 / 1000
      printf "boto3 PUT of its bytes / local dump:   %.2f (paired %.2f; the upload alone, another client)\n", W[b3] / W[natz], paired(b3, natz)
    }
    if (rs == "") exit
    for (i = 1; i <= k; i++) if (order[i] ~ /^restore: baseline/) rbase = order[i]
    if (rbase != "")
      printf "restore / baseline restore wall:       %.2f (paired %.2f; within noise is 0.9-1.1)\n", W[rs] / W[rbase], paired(rs, rbase)
    printf "restore / stock client wall:           %.2f (paired %.2f; target <= 0.50)\n", W[rs] / W["restore: mariadb < dump.sql"], paired(rs, "restore: mariadb < dump.sql")
    printf "restore / myloader -e wall:            %.2f (paired %.2f; target <= 0.80; both write the binary log)\n", W[rs] / W[rmle], paired(rs, rmle)
    printf "restore nobinlog / myloader wall:      %.2f (paired %.2f; target <= 0.80; neither writes it)\n", W[rsn] / W[rml], paired(rsn, rml)
  }' "$1"
}
echo
echo "median of $repeat run(s); CPU = user+sys of the dump or restore client(s) only; server = the bench"
echo "server's CPU during the run; RSS = peak of the largest process; size = the output of a dump, the"
echo "input of a restore"
for pool in $pools; do
  echo
  echo "buffer pool $pool:"
  summary "$work/results-$pool.tsv"
done
if [ -s "$s3stats" ]; then
  awk -F'\t' '$1 == "dump" { d[++n] = $2; obj = $3; p = $4 }
    $1 == "boto3" { b[++m] = $2; bp[m] = $5; bc[m] = $6 }
    function med(a, cnt,   i, j, t) {
      for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return cnt % 2 ? a[(cnt + 1) / 2] : (a[cnt / 2] + a[cnt / 2 + 1]) / 2 }
    END {
      printf "moto CPU (medians): %.2f s during the dump to s3 (%d objects, %d parts of at most %s), %.2f s\n",
        med(d, n), obj, p, part, med(b, m)
      print "  during boto3" "\047" "s PUT of the dump\047s bytes"
      printf "boto3 PUT (medians): parts %.2f s, then CompleteMultipartUpload %.2f s: moto copies every part\n", med(bp, m), med(bc, m)
      print "  into the new object, in Python; the dump to s3 waits as long for its own completion" }' \
    part="$s3part" "$s3stats"
fi
fi

if [ -s "$copystats" ]; then
  echo
  echo "server to server (median of $copy_repeat round(s)): db-copy against db-backup to a file, then"
  echo "db-restore of it, timed together; CPU = the client(s), then each server's during the run"
  awk -F'\t' '
    FNR == NR { if ($1 ~ /^copy: /) { n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3 + $4
        m[$1] = ($5 > m[$1] ? $5 : m[$1]); s[$1] = $6
        if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
      next }
    { ns[$1]++; sc[$1, ns[$1]] = $2; tc[$1, ns[$1]] = $3; hd[$1, ns[$1]] = $4; hr[$1, ns[$1]] = $5 }
    function med(a, name, cnt,   i, j, t, v) {
      for (i = 1; i <= cnt; i++) v[i] = a[name, i]
      for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2 }
    function paired(a, b,   i, cnt, q) {
      cnt = n[a] < n[b] ? n[a] : n[b]
      for (i = 1; i <= cnt; i++) q["r", i] = w[a, i] / w[b, i]
      return med(q, "r", cnt) }
    END {
      printf "%-40s %8s %8s %8s %8s %9s %9s\n", "run", "wall s", "cpu s", "src cpu", "dst cpu", "rss MB", "file MB"
      for (i = 1; i <= k; i++) { r = order[i]; W[r] = med(w, r, n[r])
        printf "%-40s %8.2f %8.2f %8.2f %8.2f %9.1f %9.1f\n", substr(r, 7), W[r], med(c, r, n[r]),
          med(sc, r, ns[r]), med(tc, r, ns[r]), m[r] / 1024, s[r] / 1048576 }
      for (i = 1; i <= k; i++) if (order[i] ~ /db-copy/) cp = order[i]
      for (i = 1; i <= k; i++) if (order[i] ~ /default$/) pd = order[i]
      for (i = 1; i <= k; i++) if (order[i] ~ /-c none$/) pn = order[i]
      printf "copy / pair (default codec) wall:      %.2f (paired %.2f; target <= 0.70)\n", W[cp] / W[pd], paired(cp, pd)
      printf "copy / pair (-c none) wall:            %.2f (paired %.2f)\n", W[cp] / W[pn], paired(cp, pn)
      # What overlap alone can win: the pair minus its dump, the restore half. A copy at that
      # floor hides the dump entirely; below it, it would load faster than a restore does.
      for (p = 1; p <= 2; p++) { r = p == 1 ? pd : pn
        cnt = n[cp] < ns[r] ? n[cp] : ns[r]
        for (i = 1; i <= cnt; i++) q["r", i] = w[cp, i] / hr[r, i]
        printf "%-39s%.2f s + %.2f s (medians); copy / restore half %.2f (paired %.2f)\n",
          "pair (" (p == 1 ? "default" : "-c none") ", dump + restore):", med(hd, r, ns[r]),
          med(hr, r, ns[r]), W[cp] / med(hr, r, ns[r]), med(q, "r", cnt) }
      printf "peak RSS of db-copy:                   %.1f MiB, the largest of the rounds\n", m[cp] / 1024
    }' "$results" "$copystats"
fi
[ "$copy" = only ] && exit 0

# Hostile files (#19): peak RSS of verify and db-restore --dry-run on small compressed files
# whose one statement never ends (2 GiB of SQL): the statement limit plus a constant, under
# 300 MB with --max-statement-size 64M.
echo "== hostile files" >&2
HOSTILE_SERVER="--host 127.0.0.1 --port $port --user root ${plain[*]}" \
  scripts/hostile-rss.sh "$bin" 2G 64M
