#!/usr/bin/env bash
# Runs the project's benchmarks and prints one JSON object per figure on stdout:
#   {"name": "...", "value": N, "unit": "..."}
# Usage: ./bench.sh [SUITE...]   (no argument: every suite; names: see bench/EdgeStream.Bench/Suites)
set -euo pipefail
cd "$(dirname "$0")"
dotnet build -c Release bench/EdgeStream.Bench -v q -nologo >&2
exec dotnet bench/EdgeStream.Bench/bin/Release/net10.0/EdgeStream.Bench.dll "$@"
