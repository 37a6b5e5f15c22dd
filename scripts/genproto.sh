#!/usr/bin/env bash
# genproto.sh generates the Go bindings of this repository's own .proto files
# (serve/inferencepb, triton/modelconfigpb) and writes them beside the .proto.
#
#   scripts/genproto.sh serve/inferencepb/open_inference_grpc.proto   (also run by go generate)
#
# Tools, pinned:
#   protoc             : Debian 12 protobuf-compiler 3.21.12, installed here with apt-get if missing
#   protoc-gen-go      : google.golang.org/protobuf/cmd/protoc-gen-go, the go.mod `tool` version
#   protoc-gen-go-grpc : google.golang.org/grpc/cmd/protoc-gen-go-grpc, the go.mod `tool` version
#                        (run only for files that declare a service)
# protoc runs from the module root with -I ., so each file registers in the
# protobuf registry under its repository path (no clash with other copies of
# the same schema that a program may link).
set -euo pipefail

die() { echo "genproto.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: genproto.sh PATH.proto... (paths relative to the module root)"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
module="$(go list -m)"

if ! command -v protoc >/dev/null; then
	command -v apt-get >/dev/null || die "protoc not found and no apt-get: install protobuf-compiler 3.21"
	echo "genproto.sh: installing protobuf-compiler"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends protobuf-compiler >/dev/null
fi

gen_go="$(go tool -n protoc-gen-go)"
gen_grpc="$(go tool -n protoc-gen-go-grpc)"
for proto in "$@"; do
	[ -f "$proto" ] || die "$proto: no such file (give paths relative to $root)"
	args=(-I . --plugin=protoc-gen-go="$gen_go" --go_out=. --go_opt=module="$module")
	if grep -q '^service ' "$proto"; then
		args+=(--plugin=protoc-gen-go-grpc="$gen_grpc" --go-grpc_out=. --go-grpc_opt=module="$module")
	fi
	protoc "${args[@]}" "$proto"
	echo "genproto.sh: generated $(dirname "$proto") from $proto ($(protoc --version))"
done
