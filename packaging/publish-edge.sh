#!/usr/bin/env bash
# Publishes the edge daemon as a gateway runs it: self-contained (no .NET install on the gateway),
# trimmed, for one runtime identifier. Output: artifacts/edge/RID/edgestream-edge plus its files,
# to be installed to /usr/lib/edgestream-edge/ next to packaging/systemd/edgestream-edge.service.
#
# Usage: packaging/publish-edge.sh [linux-x64|linux-arm64|linux-arm] [OUTPUT-DIR]
#
# Memory settings live in two places, both part of what is installed:
#   - edgestream-edge.runtimeconfig.json (from EdgeStream.Edge.csproj): workstation non-concurrent GC,
#     the segments GC (libclrgc.so), no tiered compilation or PGO, 2 MB gen0 budget, 32 MB GC heap
#     hard limit;
#   - the systemd unit's Environment= lines: W^X off, one malloc arena and a 1 MB gen1 budget
#     (switches the runtime and glibc read only from the environment).
# Figures for each setting: docs/store-and-forward.md, "Memory".
set -euo pipefail
cd "$(dirname "$0")/.."
rid="${1:-linux-x64}"
case "$rid" in
  linux-x64|linux-arm64|linux-arm) ;;
  *) echo "publish-edge.sh: unsupported runtime identifier '$rid' (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
esac
out="${2:-artifacts/edge/$rid}"
dotnet publish edge/EdgeStream.Edge -c Release -r "$rid" --self-contained true -nologo -v q -o "$out" >&2
echo "$out"
