#!/bin/sh
# Runs bench:compare on one commit, exported and built on its own (the working tree, with other people's
# unfinished changes in it, is never measured): bench/compare/at-commit.sh COMMIT [bench:compare options]
# Results go to this checkout's bench/results/; the JSON records the commit. Run it under the shared lock:
#   flock /tmp/wslb-bench.lock bench/compare/at-commit.sh HEAD --reps 2 --scenarios handshake --no-profile
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repo" rev-parse --short "${1:?usage: at-commit.sh COMMIT [bench:compare options]}")
shift
dir=/tmp/wslb-at-$commit
if [ ! -f "$dir/dist/bench/compare/compare.js" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  git -C "$repo" archive "$commit" | tar -x -C "$dir"
  ln -s "$repo/node_modules" "$dir/node_modules"
  (cd "$dir" && "$repo/node_modules/.bin/tsc" -p tsconfig.json) >&2 || true   # emits even with a type error elsewhere
fi
cd "$dir"
WSLB_COMMIT=$commit exec node dist/bench/compare/compare.js --out "$repo/bench/results" "$@"
