#!/usr/bin/env bash
# Installs what EdgeStream's demo and tests need on a fresh Debian 12 machine with the .NET 10 SDK.
# Safe to run twice: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: mosquitto (external-broker tests and the broker benchmark), socat (pseudo-terminals
# for serial reader emulation), kcat (Kafka-protocol checks against the mock cluster), postgresql
# (initdb/pg_ctl for the tracking store's tests, which start private clusters; no service is used),
# curl (the demo registers its ward's zones and assets through the cloud's API).
need=()
for pkg in mosquitto socat kcat chromium postgresql curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  # Debian starts no broker from the package here, but stop one if the init system did.
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
dotnet restore EdgeStream.sln -v q -nologo >&2
