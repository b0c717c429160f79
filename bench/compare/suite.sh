#!/bin/sh
# The full comparison of one commit, one bench:compare run per scenario (each under ~3 minutes, each
# under the shared lock so no two benchmarks overlap; every target in every run, so ratios stay
# within a run), then one Markdown report: bench/compare/suite.sh [COMMIT] [REPS] [BASE_COMMIT]
# The flood run includes direct: the farm's own share of the probe's latency. With BASE_COMMIT, its wslb runs in every run too (target wslb-base): before and after side by side,
# and a few secondary targets are left out where the run would pass 3 minutes.
# Output: bench/results/compare-<date>-<scenario>.json per run and bench/results/suite-<commit>-<date>.md.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repo" rev-parse --short "${1:-HEAD}")
reps=${2:-2}
lock=/tmp/wslb-bench.lock
"$repo/bench/compare/at-commit.sh" "$commit" --help >/dev/null   # export and build outside the lock
if [ -n "${3:-}" ]; then
  base=$(git -C "$repo" rev-parse --short "$3")
  "$repo/bench/compare/at-commit.sh" "$base" --help >/dev/null
  set -- --base "/tmp/wslb-at-$base"
  w=wslb,wslb-base
  runs="handshake:$w,haproxy,nginx,http-proxy,floor-l7,floor-l4 echo:$w,haproxy,nginx,http-proxy,floor-l7,floor-l4
rate:direct,$w,haproxy,nginx,http-proxy,floor-l7 idle:$w,haproxy,nginx,http-proxy,floor-l7,floor-l4
broadcast:$w,haproxy,nginx,http-proxy,floor-l7 flood:direct,$w,haproxy,floor-l7"
else
  set --
  all=wslb,haproxy,nginx,http-proxy,floor-l7,floor-l4
  runs="handshake:$all echo:$all rate:direct,$all idle:$all broadcast:$all flood:direct,wslb,haproxy,nginx,http-proxy,floor-l7"
fi
since=$(date -u +%Y-%m-%dT%H-%M-%S)
files=""
for run in $runs; do
  scenario=${run%%:*}
  echo "=== $scenario $(date -u +%H:%M:%S)" >&2
  log=$(mktemp)
  flock "$lock" timeout 240 "$repo/bench/compare/at-commit.sh" "$commit" --reps "$reps" --no-profile --scenarios "$scenario" --targets "${run#*:}" "$@" | tee "$log" || echo "=== $scenario failed" >&2
  rel=$(sed -n 's/^results: //p' "$log")
  [ -n "$rel" ] && files="$files $(cd "/tmp/wslb-at-$commit" && realpath "$rel")"
  rm -f "$log"
done
out="$repo/bench/results/suite-$commit-$since.md"
node "/tmp/wslb-at-$commit/dist/bench/compare/merge.js" $files > "$out"
echo "report: $out" >&2
