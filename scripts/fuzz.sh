#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets of fuzz/ (cargo-fuzz, libFuzzer) one after the other,
# outside CI, and prints per target: executions, time, coverage, corpus size and crashes.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s each, every target)
#   scripts/fuzz.sh 180 container decompress
#
# One fuzzer at a time, one process each. Needs a nightly toolchain (rustup); installs
# cargo-fuzz when it is missing. Corpora grow in fuzz/corpus/<target> (seeded from
# tests/fixtures/fuzz, with the control bytes each target reads first); a crash lands in
# fuzz/artifacts/<target>/ and its log in fuzz/artifacts/<target>.log. Minimise one with
# `cargo +nightly fuzz tmin <target> <file>`, then keep it as
# tests/fixtures/fuzz/<target>-<what>.regress: `cargo test --test fuzz_props` replays those.
# Build products go to $CARGO_TARGET_DIR when set, else fuzz/target.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(statements container decompress profile config_file result_set)
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")

rustup toolchain list | grep -q '^nightly' || {
    echo "fuzz.sh: no nightly toolchain; install one with: rustup toolchain install nightly" >&2
    exit 2
}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
target_dir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}

# Longest input per target: enough for a few statements, chunks, packets or files, small
# enough that each run stays fast (the container target repeats its plaintext to any length).
max_len() {
    case $1 in
        statements | decompress) echo 65536 ;;
        result_set) echo 16384 ;;
        config_file) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

fixtures=tests/fixtures/fuzz
# Writes a seed: control bytes (printf escapes), then a file's bytes.
seed() { { printf "$2"; cat "$3"; } >"$1"; }

seed_corpus() {
    local t=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    case $t in
        statements)
            seed "$dir/seed-dump" '\000' $fixtures/dump.sql
            seed "$dir/seed-dump-trickle-nbe" '\206' $fixtures/dump.sql
            ;;
        container)
            # mode 1 (chunked) of 70000 bytes, mode 2 (one-shot), mode 0 (the Go tool's file)
            seed "$dir/seed-chunked" '\001\000\160\021\001\000\000' tests/fixtures/go/text1000.txt
            seed "$dir/seed-oneshot" '\002\000\350\003\000\000\000' tests/fixtures/go/text1000.txt
            seed "$dir/seed-go" '\000\000\000\000\000\000' tests/fixtures/go/o600_filecmd_envkey_untrimmed.enc
            ;;
        decompress)
            for mode in 1 2 3 4 5 6; do
                seed "$dir/seed-mode$mode" "\\00$mode\\000\\012\\000" $fixtures/dump.sql
            done
            local tmp
            tmp=$(mktemp)
            for tool in gzip xz zstd; do
                if command -v $tool >/dev/null; then
                    $tool -c <$fixtures/dump.sql >"$tmp"
                    seed "$dir/seed-raw-$tool" '\000\000\012\000' "$tmp"
                fi
            done
            rm -f "$tmp"
            ;;
        profile) cp $fixtures/profile.cnf "$dir/seed-go-profile" ;;
        config_file) cp $fixtures/config.yaml "$dir/seed-config" ;;
        result_set) cp $fixtures/result_set.bin "$dir/seed-result-set" ;;
    esac
    for r in $fixtures/"$t"-*.regress; do
        [ -e "$r" ] && cp "$r" "$dir/"
    done
    return 0
}

echo "building the fuzz targets (nightly, release, address sanitizer)…"
cargo +nightly fuzz build --target-dir "$target_dir" "${targets[@]:0:1}" >/dev/null
for t in "${targets[@]:1}"; do
    cargo +nightly fuzz build --target-dir "$target_dir" "$t" >/dev/null
done

status=0
summary=()
for t in "${targets[@]}"; do
    seed_corpus "$t"
    mkdir -p "fuzz/artifacts/$t"
    log=fuzz/artifacts/$t.log
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    echo "fuzzing $t for ${seconds}s…"
    started=$(date +%s)
    # libFuzzer stops at the first crash; the next target still runs.
    if ! cargo +nightly fuzz run --target-dir "$target_dir" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -rss_limit_mb=2048 \
        -timeout=30 -print_final_stats=1 >"$log" 2>&1; then
        status=1
    fi
    took=$(($(date +%s) - started))
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    corpus=$(ls "fuzz/corpus/$t" | wc -l)
    crashes=$(($(ls "fuzz/artifacts/$t" | wc -l) - before))
    summary+=("$(printf '%-12s runs %-10s time %4ss  %-20s corpus %-6s crashes %s' \
        "$t" "$runs" "$took" "${cov:-cov: ?}" "$corpus" "$crashes")")
    if [ "$crashes" -gt 0 ]; then
        status=1
        grep -E 'panicked at|ERROR: |Test unit written to' "$log" | head -5 | sed 's/^/    /' >&2
    fi
done

echo
printf '%s\n' "${summary[@]}"
exit $status
