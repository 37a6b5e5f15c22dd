#!/usr/bin/env bash
# Installs what the test suite's oracles need, idempotently:
#   - Debian packages: libonnx-testdata (ONNX backend node tests), python3-onnx
#     (graph inspection, checker), python3-torch and python3-torchvision
#     (reference architectures), run with /usr/bin/python3.
# Safe to run repeatedly: it installs only what is missing.
set -euo pipefail

pkgs=(libonnx-testdata python3-onnx python3-torch python3-torchvision)
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
