#!/usr/bin/env bash
# The Debian packages Kuorum's local cluster needs, installed if any is missing (root):
#   libsodium23, make                      everything (pysodium; the Makefile)
#   runc, containernetworking-plugins,     the local kubelet node: the OCI runtime, the
#   iptables, iproute2                     bridge/host-local/portmap CNI plugins, kube-proxy
#   mmdebstrap, gcc                        the images: a Debian root file system, pause
# Nothing else is installed; `make demo`/`make test` build the rest into ~/.cache/kuorum.
set -euo pipefail
declare -A provides=(
  [libsodium23]=/usr/lib/x86_64-linux-gnu/libsodium.so.23
  [make]=/usr/bin/make
  [runc]=/usr/sbin/runc
  [containernetworking-plugins]=/usr/lib/cni/bridge
  [iptables]=/usr/sbin/iptables
  [iproute2]=/usr/sbin/ip
  [mmdebstrap]=/usr/bin/mmdebstrap
  [gcc]=/usr/bin/gcc
)
missing=()
for package in "${!provides[@]}"; do
  [ -e "${provides[$package]}" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
