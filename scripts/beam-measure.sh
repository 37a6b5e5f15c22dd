#!/usr/bin/env bash
# Throughput of `inception pipeline classify` (Apache Beam, prism runner,
# in-process) against `inception classify` on the same images, and the fixed
# cost of a pipeline run. Used for the table in docs/beam.md.
#
#   scripts/beam-measure.sh [N_IMAGES] [ROUNDS]     (defaults 1000 and 5)
#
# The images are the first N of the Fashion-MNIST test set (Debian
# dataset-fashion-mnist, installed by scripts/setup.sh) written as 28x28
# grayscale PNGs; the model is the shipped inception-v1-d2l.fmnist28. Runs
# alternate (classify, pipeline, classify, ...) so that load changes on a
# shared machine hit both; the medians are printed. The machine's load
# average is printed before and after: compare runs only at similar load.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -o "$work/inception" ./cmd/inception
mkdir -p "$work/img"
/usr/bin/python3 - "$n" "$work/img" <<'EOF'
import gzip, struct, sys, zlib
n, out = int(sys.argv[1]), sys.argv[2]
data = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
magic, count, h, w = struct.unpack('>IIII', data[:16])
assert magic == 2051 and h == 28 and w == 28 and n <= count
def chunk(tag, body):
    return struct.pack('>I', len(body)) + tag + body + struct.pack('>I', zlib.crc32(tag + body) & 0xffffffff)
for i in range(n):
    px = data[16 + i*h*w: 16 + (i+1)*h*w]
    raw = b''.join(b'\x00' + px[r*w:(r+1)*w] for r in range(h))
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    open('%s/%05d.png' % (out, i), 'wb').write(png)
EOF
model=assets/inception-v1-d2l-fmnist28.onnx
one="$work/one"; mkdir -p "$one"; cp "$work/img/00000.png" "$one/"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(lscpu | grep 'Model name' | sed 's/ *Model name: *//'), $(nproc) cores; $(date -u +%F)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/cls" ; : >"$work/pl"; : >"$work/cls1"; : >"$work/pl1"
for r in $(seq "$rounds"); do
	seconds "$work/inception" classify --json --model inception-v1-d2l --weights "$model" "$work/img" >>"$work/cls"
	seconds "$work/inception" pipeline classify --model inception-v1-d2l --weights "$model" --input "$work/img/*.png" --output "$work/out.jsonl" >>"$work/pl"
	seconds "$work/inception" classify --json --model inception-v1-d2l --weights "$model" "$one" >>"$work/cls1"
	seconds "$work/inception" pipeline classify --model inception-v1-d2l --weights "$model" --input "$one/*.png" --output "$work/out1.jsonl" >>"$work/pl1"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cls=$(median <"$work/cls"); pl=$(median <"$work/pl"); cls1=$(median <"$work/cls1"); pl1=$(median <"$work/pl1")
printf '%-44s %8s %10s\n' "command ($n images, median of $rounds)" "seconds" "images/s"
printf '%-44s %8.2f %10.0f\n' "inception classify" "$cls" "$(echo "$n / $cls" | bc -l)"
printf '%-44s %8.2f %10.0f\n' "inception pipeline classify (prism)" "$pl" "$(echo "$n / $pl" | bc -l)"
printf '%-44s %8.2f\n' "inception classify, 1 image" "$cls1"
printf '%-44s %8.2f\n' "inception pipeline classify, 1 image" "$pl1"
printf 'pipeline/classify time ratio: %.2f; fixed cost of a pipeline run (1 image, over classify): %.2f s\n' "$(echo "$pl / $cls" | bc -l)" "$(echo "$pl1 - $cls1" | bc -l)"
