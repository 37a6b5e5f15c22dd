#!/usr/bin/env bash
# The D2L book's GoogLeNet run ("Multi-Branch Networks (GoogLeNet)"):
# inception-v1-d2l on Fashion-MNIST resized to 96x96, SGD with learning
# rate 0.1 (no momentum, no weight decay), batch 128, the book's
# initialisation (Xavier-uniform weights, PyTorch's default biases), 10
# epochs, with the gorgonia back end. The book's PyTorch run reports
# loss 0.246, train acc 0.906, test acc 0.889 after the 10th epoch.
#
# Resumable: checkpoints go to $TRAIN_DIR/ck every 50 steps and after
# every epoch; stop it at any time (Ctrl-C, kill, reboot) and run the
# script again to go on from the last checkpoint, bit for bit as an
# uninterrupted run (the data order and the step are in the checkpoint).
# Each process appends its log to $TRAIN_DIR/train.log; every epoch ends
# with a line "epoch N/10 done: ... test acc A" (the 10,000 test images).
# MAX_STEPS=N stops a process after N steps (a run in pieces); LIMIT=N
# uses only the first N training and test images (to try the script). At the end
# the model is exported to $OUT (float16 weights) and evaluated by the
# ONNX runner. Needs dataset-fashion-mnist (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_DIR="${TRAIN_DIR:-/tmp/train-d2l-96}"
OUT="${OUT:-$TRAIN_DIR/inception-v1-d2l-fmnist96.onnx}"
mkdir -p "$TRAIN_DIR" "$(dirname "$OUT")"
go build -o "$TRAIN_DIR/inception" ./cmd/inception
{
  echo "# $(date -u +%FT%TZ) $(uname -n): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  nice -n "${NICE:-10}" "$TRAIN_DIR/inception" train --model inception-v1-d2l --data fashion-mnist --size 96 \
    --epochs "${EPOCHS:-10}" --batch 128 --optimizer sgd --lr 0.1 --schedule const --init d2l --seed 1 \
    --checkpoint "$TRAIN_DIR/ck" --checkpoint-every 50 --log-every 10 --max-steps "${MAX_STEPS:-0}" --limit "${LIMIT:-0}" --out "$OUT"
} 2>&1 | tee -a "$TRAIN_DIR/train.log"
if grep -q "^wrote $OUT" <(tail -n 3 "$TRAIN_DIR/train.log"); then
  "$TRAIN_DIR/inception" eval --model "$OUT" --data fashion-mnist --limit "${LIMIT:-0}" | tee -a "$TRAIN_DIR/train.log"
fi
grep "done:" "$TRAIN_DIR/train.log" || true
