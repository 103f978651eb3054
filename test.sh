#!/usr/bin/env bash
# Sets up and runs every EdgeStream test (unit and integration), then prints
#   tests: N passed, N failed
# Exit status is non-zero when any test fails or nothing ran.
# Run one capability alone with: ./test.sh --filter Capability=Readers
set -uo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh || exit 1

results=.test-results
rm -rf "$results"
mkdir -p "$results"
dotnet build EdgeStream.sln -c Debug -v q -nologo --no-restore || { echo "tests: 0 passed, 1 failed"; exit 1; }
dotnet test EdgeStream.sln -c Debug --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

passed=0; failed=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  line=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); f_=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f_:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crashed test host counts as a failure
echo "tests: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
