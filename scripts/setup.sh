#!/usr/bin/env bash
# Installs what the test suite's oracles need, idempotently:
#   - Debian packages: libonnx-testdata (ONNX backend node tests), python3-onnx
#     (graph inspection, checker), python3-torch and python3-torchvision
#     (reference architectures), python3-numpy and python3-scipy (the .npy
#     and metrics oracles: numpy.save/load, scipy.linalg.sqrtm), run with
#     /usr/bin/python3.
#   - ONNX Runtime 1.30.0's Linux x64 CPU shared library (the oracle and
#     speed reference behind `-tags ort`), taken from the npm package
#     onnxruntime-node@1.30.0 and verified against pinned checksums, into
#     ${INCEPTION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inceptionzoo}/onnxruntime-1.30.0/.
#     internal/ort.LibraryPath computes the same path; INCEPTION_ORT_LIB
#     overrides it there.
# Safe to run repeatedly: it installs only what is missing.
#
#   scripts/setup.sh                 install (apt packages, then ONNX Runtime)
#   scripts/setup.sh --print-ort-lib print the ONNX Runtime library path and exit
set -euo pipefail

ORT_VERSION=1.30.0
ORT_NPM="onnxruntime-node@${ORT_VERSION}"
# The registry's published integrity of onnxruntime-node-1.30.0.tgz
# (`npm view onnxruntime-node@1.30.0 dist`), and the sha256 of the x64
# library inside it, computed when the pin was set.
ORT_TGZ_SHA512_B64="twhs1C2C/BFkz1yc5OY0KIU2GUq6DURO7hD4bx5Q2Qy3nAMJwRXW8xU3NVczE29VA9lolLOYepoD8fjTGOfIqw=="
ORT_LIB_SHA256="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
ORT_DIR="${INCEPTION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inceptionzoo}/onnxruntime-${ORT_VERSION}"
ORT_LIB="${ORT_DIR}/libonnxruntime.so.1"

if [ "${1:-}" = "--print-ort-lib" ]; then
  echo "$ORT_LIB"
  exit 0
fi

pkgs=(libonnx-testdata python3-onnx python3-torch python3-torchvision dataset-fashion-mnist python3-numpy python3-scipy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: oracles present: ${pkgs[*]}"

ort_lib_ok() {
  [ -f "$ORT_LIB" ] && echo "${ORT_LIB_SHA256}  ${ORT_LIB}" | sha256sum --check --status
}

if ! ort_lib_ok; then
  [ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] || { echo "setup: ONNX Runtime: only linux/x86_64 is supported" >&2; exit 1; }
  command -v npm >/dev/null || { echo "setup: ONNX Runtime: npm is needed to fetch ${ORT_NPM}" >&2; exit 1; }
  echo "setup: installing ONNX Runtime ${ORT_VERSION} from ${ORT_NPM}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$ORT_NPM" >/dev/null)
  tgz="$tmp/onnxruntime-node-${ORT_VERSION}.tgz"
  want="$(printf '%s' "$ORT_TGZ_SHA512_B64" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$tgz" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    echo "setup: ${ORT_NPM}: tarball sha512 ${got} does not match the pinned ${want}" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" --wildcards 'package/bin/napi-v*/linux/x64/libonnxruntime.so*'
  libs=("$tmp"/package/bin/napi-v*/linux/x64/libonnxruntime.so*)
  if ((${#libs[@]} != 1)) || [ ! -f "${libs[0]}" ]; then
    echo "setup: ${ORT_NPM}: expected one linux/x64 libonnxruntime.so*, found: ${libs[*]}" >&2
    exit 1
  fi
  if ! echo "${ORT_LIB_SHA256}  ${libs[0]}" | sha256sum --check --status; then
    echo "setup: ${ORT_NPM}: ${libs[0]#"$tmp"/} does not match the pinned sha256 ${ORT_LIB_SHA256}" >&2
    exit 1
  fi
  mkdir -p "$ORT_DIR"
  # Copy beside the target, then rename: a concurrent reader never sees a
  # half-written library.
  cp "${libs[0]}" "$ORT_LIB.tmp.$$"
  chmod 0644 "$ORT_LIB.tmp.$$"
  mv -f "$ORT_LIB.tmp.$$" "$ORT_LIB"
  ort_lib_ok || { echo "setup: ${ORT_LIB}: checksum mismatch after install" >&2; exit 1; }
fi
echo "setup: ONNX Runtime ${ORT_VERSION}: ${ORT_LIB}"
