# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: test setup check unit ort goldens race fuzz run

## test: install the oracles, then vet, test (pure Go), check the shipped model's test accuracy, test against ONNX Runtime, race-test the engine, zoo, server and trainer, and fuzz the ONNX decoder, the state-dict readers and the inference-request decoders briefly, and run a Beam pipeline with its worker in a separate process
test: setup check unit eval-d2l ort race fuzz beam-worker

setup:
	./scripts/setup.sh

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	CGO_ENABLED=0 $(GO) vet ./...

unit:
	CGO_ENABLED=0 $(GO) test -count=1 ./...

# ort: the tests that use ONNX Runtime (cgo, build tag ort) as their oracle.
# scripts/setup.sh installs the library where internal/ort.LibraryPath looks
# (INCEPTION_ORT_LIB overrides it). Packages with ORT tests append
# themselves: ORT_PKGS += ./yourpkg/
ORT_PKGS ?= ./internal/ort/ ./onnx/ ./zoo/
ORT_PKGS += ./conformance/
ort:
	CGO_ENABLED=1 $(GO) vet -tags ort $(ORT_PKGS)
	CGO_ENABLED=1 $(GO) test -count=1 -tags ort $(ORT_PKGS)

# goldens: regenerate conformance/testdata with ONNX Runtime running our
# ONNX exports (never our engine); see README "Conformance".
goldens:
	CGO_ENABLED=1 $(GO) test -count=1 -tags ort ./conformance/ -run TestUpdateGoldens -update

race:
	$(GO) test -count=1 -race ./engine/... ./zoo/... ./serve/... ./train/...

# fuzz: the ONNX decoder (FuzzDecode) for FUZZTIME, the ONNX runner on
# decoded models (FuzzLoad) and on random graphs against a float64
# reference (FuzzPlan) for RUNNER_FUZZTIME each, and the statedict readers
# for STATEDICT_FUZZTIME each. Minimizing each new input is capped at 5 s:
# Go's default, 60 s, stalls a short run at 0 execs/s.
FUZZTIME ?= 60s
RUNNER_FUZZTIME ?= 20s
STATEDICT_FUZZTIME ?= 30s
# npy decoders (FuzzNPY, FuzzNPZ) and the metrics Moments decoder, 30s each.
NPY_FUZZTIME ?= 30s
# preprocess decoders (FuzzDecode, FuzzScanJPEG, FuzzExifOrientation), 30s each.
PREPROCESS_FUZZTIME ?= 30s
# The inference-request decoders of package serve (REST and gRPC), 30s each.
SERVE_FUZZTIME ?= 30s
# The training checkpoint and IDX decoders, 20s each.
TRAIN_FUZZTIME ?= 20s
fuzz:
	$(GO) test ./onnx/onnxir -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./onnx -run '^$$' -fuzz FuzzLoad -fuzztime $(RUNNER_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./onnx -run '^$$' -fuzz FuzzPlan -fuzztime $(RUNNER_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./statedict -run '^$$' -fuzz '^FuzzTorch$$' -fuzztime $(STATEDICT_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./statedict -run '^$$' -fuzz '^FuzzSafetensors$$' -fuzztime $(STATEDICT_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./statedict -run '^$$' -fuzz '^FuzzPickle$$' -fuzztime $(STATEDICT_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./npy -run '^$$' -fuzz '^FuzzNPY$$' -fuzztime $(NPY_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./npy -run '^$$' -fuzz '^FuzzNPZ$$' -fuzztime $(NPY_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./metrics -run '^$$' -fuzz '^FuzzMomentsBinary$$' -fuzztime $(NPY_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./preprocess -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(PREPROCESS_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./preprocess -run '^$$' -fuzz '^FuzzScanJPEG$$' -fuzztime $(PREPROCESS_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./preprocess -run '^$$' -fuzz '^FuzzExifOrientation$$' -fuzztime $(PREPROCESS_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./serve -run '^$$' -fuzz '^FuzzDecodeREST$$' -fuzztime $(SERVE_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./serve -run '^$$' -fuzz '^FuzzDecodeGRPC$$' -fuzztime $(SERVE_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./train -run '^$$' -fuzz '^FuzzCheckpoint$$' -fuzztime $(TRAIN_FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./train/data -run '^$$' -fuzz '^FuzzDecodeIDX$$' -fuzztime $(TRAIN_FUZZTIME) -fuzzminimizetime 5s

## beam-worker: `inception pipeline classify` with its Beam worker in a separate process (prism PROCESS environment, the Go SDK's boot program, this CLI built with CGO_ENABLED=0 as the worker binary)
.PHONY: beam-worker
beam-worker:
	$(GO) test -count=1 -tags beamworker -run TestPipelineSeparateWorker ./cmd/inception

## beam-measure: images/s of `inception pipeline classify` (prism) against `inception classify` on 1,000 Fashion-MNIST images (docs/beam.md)
.PHONY: beam-measure
beam-measure:
	./scripts/beam-measure.sh

## run: the main job (classify the bundled images with the shipped model, offline)
run:
	$(GO) run ./cmd/inception classify

## train-d2l-96: the D2L book's run (96x96, SGD lr 0.1, batch 128, 10 epochs); resumable, see scripts/train-d2l-96.sh
.PHONY: train-d2l-96
train-d2l-96:
	./scripts/train-d2l-96.sh

## bench-train: training img/s of inception-v1-d2l at 28x28 and 96x96 against PyTorch (python3-torch), interleaved
.PHONY: bench-train
bench-train:
	$(GO) run ./cmd/inception bench --train --size 28,96 --steps 4 --rounds 5

## train-d2l: retrain the shipped Fashion-MNIST GoogLeNet (assets/) with the gorgonia back end; resumable, about an hour on 2 idle cores
.PHONY: train-d2l
train-d2l:
	./scripts/train-d2l.sh

## eval-d2l: the shipped models' top-1 accuracy on the 10,000 Fashion-MNIST test images; fails below 0.89 (the book's run at 96x96, the default) or 0.88 (28x28)
.PHONY: eval-d2l
eval-d2l:
	$(GO) run ./cmd/inception eval --model assets/inception-v1-d2l-fmnist96.onnx --data fashion-mnist --min-accuracy 0.89
	$(GO) run ./cmd/inception eval --model assets/inception-v1-d2l-fmnist28.onnx --data fashion-mnist --min-accuracy 0.88
