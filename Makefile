# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: test setup check unit race fuzz run

## test: install the oracles, then vet, test (pure Go), race-test the engine and zoo, and fuzz the ONNX decoder briefly
test: setup check unit race fuzz

setup:
	./scripts/setup.sh

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	CGO_ENABLED=0 $(GO) vet ./...

unit:
	CGO_ENABLED=0 $(GO) test -count=1 ./...

race:
	$(GO) test -count=1 -race ./engine/... ./zoo/...

FUZZTIME ?= 60s
fuzz:
	$(GO) test ./onnx -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)

## run: the main job
run:
	$(GO) run ./cmd/inception run inception-v1
