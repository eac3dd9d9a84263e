#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks drive for real (run as root).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v redis-server >/dev/null || need+=(redis-server)
command -v websockify >/dev/null || need+=(websockify)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v nginx >/dev/null || need+=(nginx-light)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'ok installed' || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
