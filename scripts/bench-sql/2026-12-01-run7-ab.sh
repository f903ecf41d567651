#!/usr/bin/env bash
# A/B, interleaved (docs/benchmarks.md, run 7): GET /api/v1/machines?q=<name> alone
# (wrk -t1 -c1) on run 6's server (commit beafc11: trigram phrase; its release binary
# copied to $D/i10s/server-beafc11, serving a copy of run6.db, schema 12) and on B_BIN
# (the word index of 0013, serving run7.db), same seed, same minutes: latency, and the
# server's CPU time per request (from /proc, less sensitive to the machine's load).
#   B_BIN=$CARGO_TARGET_DIR/release/licentric-server flock /tmp/licentric-bench.lock \
#     scripts/bench-sql/2026-12-01-run7-ab.sh
set -euo pipefail
D=/root/.cache/licentric/bench-data
A_BIN=${A_BIN:-$D/i10s/server-beafc11}; A_DB=${A_DB:-$D/ab6.db}
B_BIN=${B_BIN:?}; B_DB=${B_DB:-$D/run7.db}
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-8s}
KEY=$(jq -r .apiKey $D/run7.db.seed.json)
DEFAULT_Q="Grace's MacBook Pro"
Q=$(jq -rn --arg v "${Q:-$DEFAULT_Q}" '$v|@uri')
W=$(mktemp -d); trap 'kill $(cat $W/*.pid) 2>/dev/null; rm -rf $W' EXIT
cat >$W/r.lua <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
function done(s, l, r)
  io.write(string.format("R %d %d %d %d %d\n", s.requests, s.errors.status, l:percentile(50), l:percentile(95), l:percentile(99)))
end
LUA
start() { # name bin db
  "$2" serve --listen 127.0.0.1:0 --database-url "$3" --rate-limit-api-key 1000000000/1s >$W/$1.out 2>$W/$1.err & echo $! >$W/$1.pid
  until grep -qs 'listening on' $W/$1.out; do sleep 0.1; done
  grep -o 'http://[0-9.:]*' $W/$1.out
}
A=$(start a "$A_BIN" "$A_DB"); B=$(start b "$B_BIN" "$B_DB")
for s in $A $B; do
  curl -s -H "Authorization: Bearer $KEY" "$s/api/v1/machines?q=$Q&limit=1" | jq -c '{total, first: .data[0].name}'
done
ticks() { awk '{print $14 + $15}' /proc/$(cat $W/$1.pid)/stat; }
HZ=$(getconf CLK_TCK)
echo "round server requests non2xx p50_ms p95_ms p99_ms cpu_us_per_request load1"
for r in $(seq 1 $ROUNDS); do
  for n in a b; do
    u=$([ $n = a ] && echo $A || echo $B)
    l=$(cut -d' ' -f1 /proc/loadavg); t0=$(ticks $n)
    out=$(KEY=$KEY wrk -t1 -c1 -d$DURATION -s $W/r.lua "$u/api/v1/machines?q=$Q")
    t1=$(ticks $n)
    awk -v r=$r -v n=$n -v l=$l -v t=$((t1 - t0)) -v hz=$HZ '/^R /{printf "%s %s %d %d %.2f %.2f %.2f %d %s\n", r, n, $2, $3, $4/1000, $5/1000, $6/1000, t / hz * 1e6 / $2, l}' <<<"$out"
  done
done
