#!/bin/sh
# FID feature extraction throughput, side by side: this module's engine
# (inception bench inception-v3-fid --batch 50, GOMAXPROCS = the machine's
# cores) against PyTorch 1.13 (Debian python3-torch, torch.set_num_threads(2),
# pytorch-fid's network from scripts/fid_reference.py), both on 299x299
# inputs at batch 50 computing the 2048-d features and the logits. The two
# alternate ROUNDS times (default 3) so that both see the same machine load;
# the medians and their ratio are printed with the machine and the date.
#
#   scripts/fid-throughput.sh            # from the repository root
#   ROUNDS=5 IMAGES=200 scripts/fid-throughput.sh
set -eu
ROUNDS=${ROUNDS:-3}
IMAGES=${IMAGES:-100} # images per torch measurement (a multiple of 50)
RUNS=${RUNS:-2}       # timed batches of 50 per Go measurement
PY=/usr/bin/python3
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$PY scripts/fid_reference.py weights --seed 1 --out "$tmp/w.pth"
go build -o "$tmp/inception" ./cmd/inception
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  torch-1.13-2-threads  go-engine  (images/s, 299x299, batch 50)"
: >"$tmp/t"
: >"$tmp/g"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	t=$($PY scripts/fid_reference.py bench --weights "$tmp/w.pth" --batch 50 --threads 2 --images "$IMAGES" |
		$PY -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["images_per_s"])')
	g=$("$tmp/inception" bench inception-v3-fid --batch 50 --runs "$RUNS" --warmup 1 --json 2>/dev/null |
		$PY -c 'import json,sys; print("%.3f" % json.load(sys.stdin)[0]["images_per_s"])')
	echo "$t" >>"$tmp/t"
	echo "$g" >>"$tmp/g"
	printf '%5d  %20s  %9s\n' "$r" "$t" "$g"
	r=$((r + 1))
done
$PY - "$tmp/t" "$tmp/g" <<'EOF'
import statistics, sys
t = [float(x) for x in open(sys.argv[1])]
g = [float(x) for x in open(sys.argv[2])]
mt, mg = statistics.median(t), statistics.median(g)
print("median %19.3f  %9.3f   go/torch = %.2f" % (mt, mg, mg / mt))
EOF
