#!/usr/bin/env bash
# Builds the man pages, one per command (sfdbtools.1, sfdbtools-db-backup-all.1, …), into man/
# (or the directory given), from the clap definitions of the binary itself: it builds the
# binary and runs `sfdbtools man-pages DIR`. man/ is not committed: the pages are generated
# from the code, so they cannot go stale; an installed binary writes its own the same way.
#
#   scripts/man.sh                  into man/
#   scripts/man.sh /tmp/pages       into another directory
#   man -l man/sfdbtools-db-backup-all.1    read one
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${1:-man}"
# The debug build: the pages do not depend on the profile, and it is the one usually built.
cargo build --quiet --bin sfdbtools
target="${CARGO_TARGET_DIR:-target}"
mkdir -p -- "$dir"
rm -f -- "$dir"/sfdbtools*.1   # pages of commands that are gone
"$target/debug/sfdbtools" man-pages "$dir" >/dev/null
echo "man.sh: $(ls "$dir" | wc -l) pages in $dir/" >&2
