#!/bin/sh
# The full comparison of one commit, one bench:compare run per scenario (each under ~3 minutes, each
# under the shared lock so no two benchmarks overlap; every target in every run, so ratios stay
# within a run), then one Markdown report: bench/compare/suite.sh [COMMIT] [REPS]
# Output: bench/results/compare-<date>-<scenario>.json per run and bench/results/suite-<commit>-<date>.md.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repo" rev-parse --short "${1:-HEAD}")
reps=${2:-2}
lock=/tmp/wslb-bench.lock
all=wslb,haproxy,nginx,http-proxy,floor-l7,floor-l4
"$repo/bench/compare/at-commit.sh" "$commit" --help >/dev/null   # export and build outside the lock
since=$(date -u +%Y-%m-%dT%H-%M-%S)
files=""
for spec in "handshake $all" "echo $all" "rate direct,$all" "idle $all" "broadcast $all" "flood wslb,haproxy,nginx,http-proxy,floor-l7"; do
  set -- $spec
  echo "=== $1 $(date -u +%H:%M:%S)" >&2
  log=$(mktemp)
  flock "$lock" timeout 240 "$repo/bench/compare/at-commit.sh" "$commit" --reps "$reps" --no-profile --scenarios "$1" --targets "$2" | tee "$log" || echo "=== $1 failed" >&2
  rel=$(sed -n 's/^results: //p' "$log")
  [ -n "$rel" ] && files="$files $(cd "/tmp/wslb-at-$commit" && realpath "$rel")"
  rm -f "$log"
done
out="$repo/bench/results/suite-$commit-$since.md"
node "/tmp/wslb-at-$commit/dist/bench/compare/merge.js" $files > "$out"
echo "report: $out" >&2
