#!/usr/bin/env bash
# serve-measure.sh runs the serving measurements of docs/serving.md on this
# machine, over loopback, bounded in time:
#   1. for each model (seeded weights, --allow-seeded): `inception serve`
#      with the default batching (--max-batch 8 --max-delay 5ms), driven by
#      `inception loadtest` at concurrency 1, 8 and 32 (binary tensor data,
#      DURATION each after a 3 s warm-up): throughput, p50/p99 latency;
#   2. batching efficiency: ROUNDS alternations of loadtest at concurrency 32
#      and `inception bench --batch 8` (the engine alone, the server idle),
#      and the median of (serve images/s) / (bench images/s);
#   3. a SOAK-long run of the first model at concurrency 8, with the server's
#      RSS at the start and end of the window (sampled every second).
#
#   scripts/serve-measure.sh                       # defaults below; results in $OUT
#   DURATION=10s ROUNDS=1 SOAK=30s scripts/serve-measure.sh   # a quick look
#
# Needs go, python3 (the summary) and a free 127.0.0.1:$PORT. The load
# generator runs on the same cores as the server; on a shared machine, run
# it when the machine is quiet (the script prints the load average).
set -euo pipefail

MODELS="${MODELS:-inception-v1-tv inception-v3}"
DURATION="${DURATION:-20s}"
ROUNDS="${ROUNDS:-3}"
SOAK="${SOAK:-5m}"
PORT="${PORT:-18000}"
OUT="${OUT:-/tmp/serve-measure}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$OUT"
bin="$OUT/inception"
(cd "$root" && go build -o "$bin" ./cmd/inception)
url="http://127.0.0.1:$PORT"

echo "machine: $(lscpu | grep 'Model name' | sed 's/ *Model name: *//'), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

pid=""
stop_server() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" || echo "serve exited with status $?" >&2
		pid=""
	fi
}
trap stop_server EXIT

start_server() { # model
	"$bin" serve --addr "127.0.0.1:$PORT" --grpc-addr "" --allow-seeded "$1" 2>"$OUT/$1.serve.log" &
	pid=$!
	for _ in $(seq 600); do
		grep -q 'msg=listening' "$OUT/$1.serve.log" && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$OUT/$1.serve.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "serve $1 did not start within 60 s" >&2
	exit 1
}

for m in $MODELS; do
	start_server "$m"
	echo
	echo "== $m: loadtest at concurrency 1, 8, 32 ($DURATION each)"
	"$bin" loadtest --url "$url" --model "$m" --concurrency 1,8,32 --duration "$DURATION" --pid "$pid" --json >"$OUT/$m.loadtest.json"
	for r in $(seq "$ROUNDS"); do
		"$bin" loadtest --url "$url" --model "$m" --concurrency 32 --duration "$DURATION" --json >"$OUT/$m.c32.$r.json"
		"$bin" bench "$m" --batch 8 --runs 20 --json >"$OUT/$m.bench8.$r.json"
	done
	stop_server
done

first="${MODELS%% *}"
echo
echo "== soak: $first at concurrency 8 for $SOAK"
start_server "$first"
"$bin" loadtest --url "$url" --model "$first" --concurrency 8 --duration "$SOAK" --warmup 10s --pid "$pid" --json >"$OUT/soak.json"
stop_server
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$OUT" "$ROUNDS" $MODELS <<'PY'
import json, statistics, sys
out, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print()
print("| model | concurrency | requests | errors | images/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|")
for m in models:
    for r in json.load(open(f"{out}/{m}.loadtest.json")):
        errs = sum((r.get("errors") or {}).values())
        print(f"| {m} | {r['concurrency']} | {r['requests']} | {errs} | {r['images_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
print()
print("| model | serve c=32 images/s | bench batch 8 images/s | efficiency (median of rounds) |")
print("|---|---|---|---|")
for m in models:
    serve, bench, ratio = [], [], []
    for i in range(1, rounds + 1):
        s = json.load(open(f"{out}/{m}.c32.{i}.json"))[0]["images_per_s"]
        b = [x for x in json.load(open(f"{out}/{m}.bench8.{i}.json")) if x["engine"] == "go" and x["batch"] == 8][0]["images_per_s"]
        serve.append(s); bench.append(b); ratio.append(s / b)
    print(f"| {m} | {' / '.join(f'{v:.1f}' for v in serve)} | {' / '.join(f'{v:.1f}' for v in bench)} | {100 * statistics.median(ratio):.0f}% |")
s = json.load(open(f"{out}/soak.json"))[0]
print()
print(f"soak: {s['model']} at concurrency {s['concurrency']} for {s['seconds']:.0f} s: {s['requests']} requests, "
      f"{sum((s.get('errors') or {}).values())} errors, RSS {s['rss_start_mib']:.0f} MiB at the start, "
      f"{s['rss_end_mib']:.0f} MiB at the end, peak {s['rss_peak_mib']:.0f} MiB")
rss = s.get("rss_samples_mib") or []
if rss:
    print("soak RSS (MiB) at each minute: " + ", ".join(f"{m} min {rss[min(60 * m, len(rss) - 1)]:.0f}" for m in range(0, len(rss) // 60 + 1)))
PY
