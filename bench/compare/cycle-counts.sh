#!/bin/bash
# Repeatable per-connection counts of one proxy on a shared, noisy machine: user-space instructions
# (valgrind callgrind, main thread and all threads) or system calls (strace -c) per raw upgrade cycle
# (upgrade + close handshake + FIN, `wslb-bench handshake --raw`, 8 openers), over N cycles after a
# warm-up. Counts, unlike CPU time, do not move with the load of the machine.
#   bench/compare/cycle-counts.sh callgrind|strace TREE [wslb|l7|l4] [N]
# TREE: a built tree (dist/), e.g. /tmp/wslb-at-COMMIT from at-commit.sh; l7/l4: Node's floor from it.
# Run it under the bench lock: flock /tmp/wslb-bench.lock bench/compare/cycle-counts.sh strace /tmp/wslb-at-abc1234
set -u
tool=${1:?usage: cycle-counts.sh callgrind|strace TREE [wslb|l7|l4] [N]}
tree=$(cd "${2:?TREE}" && pwd)
mode=${3:-wslb}
n=${4:-2000}
warm=${WARM_CYCLES:-3000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/wslb-cycles-XXXXXX)
cd "$tree" || exit 1
proxy=; farm=; tracer=
cleanup() { for p in $tracer $proxy $farm; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
# 3>&-: the children must not inherit flock's descriptor (a leftover child would hold the lock).
node dist/src/demo/farm-main.js --ports 0,0,0 > "$out/farm.log" 2>&1 3>&- &
farm=$!
for _ in $(seq 1 120); do [ "$(grep -c '"url"' "$out/farm.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.5; done
ports=$(grep -o '"url":"ws://127.0.0.1:[0-9]*' "$out/farm.log" | grep -o '[0-9]*$')
wrap=()
[ "$tool" = callgrind ] && wrap=(valgrind --tool=callgrind --smc-check=all-non-file "--callgrind-out-file=$out/cg.out")
if [ "$mode" = wslb ]; then
  servers=""; i=1
  for p in $ports; do servers="$servers      - { name: demo-$i, url: \"ws://127.0.0.1:$p\" }
"; i=$((i + 1)); done
  sed -e 's/{{PORT}}/0/' "$repo/bench/configs/wslb.yaml" | awk -v s="$servers" '{ if ($0 ~ /{{SERVERS}}/) printf "%s", s; else print }' > "$out/wslb.yaml"
  "${wrap[@]}" node dist/src/cli.js run -c "$out/wslb.yaml" > "$out/proxy.log" 2>&1 3>&- &
  proxy=$!
  for _ in $(seq 1 600); do grep -q '"kind":"proxy"' "$out/proxy.log" 2>/dev/null && break; sleep 0.5; done
  port=$(grep '"kind":"proxy"' "$out/proxy.log" | grep -o '"port":[0-9]*' | grep -o '[0-9]*$')
else
  "${wrap[@]}" node dist/bench/compare/floor-main.js "$mode" "$(echo $ports | tr ' ' ,)" > "$out/proxy.log" 2>&1 3>&- &
  proxy=$!
  for _ in $(seq 1 600); do grep -q '"listening"' "$out/proxy.log" 2>/dev/null && break; sleep 0.5; done
  port=$(grep '"listening"' "$out/proxy.log" | grep -o '"port":[0-9]*' | grep -o '[0-9]*$')
fi
[ -n "$port" ] || { echo "the proxy did not start; see $out/proxy.log" >&2; exit 1; }
cycles() {
  node dist/bench/cli.js handshake --raw -u "ws://127.0.0.1:$port/" --concurrency 8 -w 0s -d 900s \
    --handshake-timeout 60s --max-messages "$1" -q > "$2" 2>&1
  grep -E '^\s*full cycles ' "$2" | grep -o '[0-9,]*' | head -1 | tr -d ,
}
cycles "$warm" "$out/warm.txt" > /dev/null
if [ "$tool" = callgrind ]; then
  callgrind_control -z "$proxy" > /dev/null
  c=$(cycles "$n" "$out/run.txt")
  callgrind_control -e "$proxy" > "$out/counters.txt" 2>&1
  main=$(grep -E '^ *Th +1 ' "$out/counters.txt" | awk '{ gsub(",", "", $3); print $3 }')
  all=$(grep -E '^ *Th *[0-9]+ ' "$out/counters.txt" | awk '{ gsub(",", "", $NF); s += $NF } END { print s }')
  echo "$mode $(basename "$tree"): $c cycles; instructions per cycle: main thread $((main / c)), all threads $((all / c))"
else
  strace -c -f -p "$proxy" -o "$out/strace.txt" 3>&- 2>/dev/null &
  tracer=$!
  sleep 1
  c=$(cycles "$n" "$out/run.txt")
  sleep 0.5
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null; tracer=
  echo "$mode $(basename "$tree"): $c cycles; system calls per cycle (errors):"
  awk -v c="$c" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ && $NF != "futex" {
    e = ($5 ~ /^[0-9]+$/) ? $5 : 0; t += $4; printf "  %-12s %6.2f (%.2f)\n", $NF, $4 / c, e / c } END { printf "  %-12s %6.2f\n", "total", t / c }' "$out/strace.txt"
fi
rm -rf "$out"
