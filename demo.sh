#!/usr/bin/env bash
# EdgeStream demo: emulated LLRP reader → edge daemon → cloud service → portal.
# Sets up what it needs, prints the portal URL, runs until Ctrl-C / SIGTERM, and stops every
# process it started. Environment: PORTAL_PORT (default 8080), MQTT_PORT (default 1883).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
state="$root/.demo"
portal_port=${PORTAL_PORT:-8080}
mqtt_port=${MQTT_PORT:-1883}

./scripts/setup.sh
echo "demo: building…" >&2
dotnet build EdgeStream.sln -c Release -v q -nologo --no-restore >&2

bin_cloud="$root/cloud/EdgeStream.Cloud/bin/Release/net10.0/edgestream-cloud.dll"
bin_edge="$root/edge/EdgeStream.Edge/bin/Release/net10.0/edgestream-edge.dll"
bin_emu="$root/hardware/EdgeStream.Emulators/bin/Release/net10.0/edgestream-emulator.dll"

rm -rf "$state/logs"
mkdir -p "$state/logs" "$state/cloud" "$state/edge"
pids=()
stopping=0
cleanup() {
  [ "$stopping" -eq 1 ] && return
  stopping=1
  echo >&2
  echo "demo: stopping…" >&2
  # Stop in data-flow order so nothing is left mid-flight: readers, then edge (flushes its buffer), then cloud.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "demo: stopped; logs in $state/logs" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_line FILE REGEX: waits until FILE has a line matching REGEX and prints the first match.
wait_line() {
  for _ in $(seq 1 600); do
    if line=$(grep -m1 -E "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1:" >&2
  tail -20 "$1" >&2
  return 1
}

# The demo gateway's credentials: a fresh password each run, its hash in the cloud's gateways file.
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
hash=$(printf '%s\n' "$password" | dotnet "$bin_cloud" hash-password)
printf '{"gateways":[{"gatewayId":"demo-ward-1","passwordHash":"%s"}]}\n' "$hash" >"$state/gateways.json"

# The shipped definitions: the hospital patient flow, and the equipment exit, dock dwell and crowded waiting room rules.
examples="$root/cloud/EdgeStream.Rules/Examples"
mkdir -p "$state/workflows" "$state/rules"
cp "$examples"/*.workflow.json "$state/workflows/"
cp "$examples"/*.rule.json "$state/rules/"

dotnet "$bin_cloud" --urls "http://127.0.0.1:$portal_port" --mqtt "127.0.0.1:$mqtt_port" --data-dir "$state/cloud" \
  --gateways "$state/gateways.json" --workflows "$state/workflows" --rules "$state/rules" >"$state/logs/cloud.log" 2>&1 &
pids=($!)
portal=$(wait_line "$state/logs/cloud.log" '^cloud: portal ' | awk '{print $3}')
mqtt=$(wait_line "$state/logs/cloud.log" '^cloud: mqtt ' | awk '{print $3}')

# The ward's zones with their kinds, and its assets with their types, so that the hospital flow and the
# rules have something to run for: three patients, an infusion pump and a wheelchair.
register() { curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$2" "${portal%/}$1"; }
for zone in waiting-room:waiting-room doctors-office:exam-room recovery:room exit:exit; do
  register /api/zones "{\"siteId\":\"default\",\"name\":\"${zone%%:*}\",\"kind\":\"${zone#*:}\"}"
done
for asset in P-1001:patient:E28011902000050A1B2C0001 P-1002:patient:E28011902000050A1B2C0002 P-1003:patient:E28011902000050A1B2C0003 \
             IP-17:infusion-pump:3034257BF400B7800004CB2F WC-3:wheelchair:3034257BF400B7800004CB30; do
  IFS=: read -r id type epc <<<"$asset"
  register /api/assets "{\"id\":\"$id\",\"type\":\"$type\",\"tags\":[\"$epc\"]}"
done

dotnet "$bin_emu" llrp --scenario "$root/hardware/scenarios/demo-hospital.json" --port 0 --loop \
  >"$state/logs/reader.log" 2>&1 &
pids+=($!)
reader=$(wait_line "$state/logs/reader.log" '^listening llrp ' | awk '{print $3}')

dotnet "$bin_edge" run --config "$root/hardware/scenarios/demo-hospital.edge.json" \
  --gateway-id demo-ward-1 --reader "llrp://$reader?id=ward-reader" --broker "mqtt://demo-ward-1:$password@$mqtt" \
  --data-dir "$state/edge" --http 127.0.0.1:0 \
  >"$state/logs/edge.log" 2>&1 &
pids+=($!)

echo
echo "EdgeStream demo is running."
echo "  portal:  $portal"
echo "  reader:  llrp://$reader (emulated, scenario hardware/scenarios/demo-hospital.json)"
echo "  broker:  mqtt://$mqtt (gateway demo-ward-1)"
echo "  logs:    $state/logs/"
echo "Press Ctrl-C to stop."
# Wait until a child dies or a signal arrives; a dead child ends the demo with its log shown.
while :; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: a process exited unexpectedly; see $state/logs/" >&2
      tail -5 "$state"/logs/*.log >&2
      exit 1
    fi
  done
  sleep 1 &
  wait $! || true
done
