#!/usr/bin/env bash
# Footprint (issue 14, goal 4): publishes the host with Native AOT into a temp folder (or takes the binary in
# $ALICIA_FOOTPRINT_BINARY), makes a random-weight Whisper model for the voice service to load, then runs the load
# tool's footprint scenario on it: binary size, start of `alicia run` (median/p95 over N runs per mode), resident
# memory idle and with 1,000 simulated devices. Writes bench/results/footprint.json.
# Usage: scripts/footprint.sh [runs per mode, default 10] [devices, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_dotnet

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
binary=${ALICIA_FOOTPRINT_BINARY:-}
if [ -z "$binary" ]; then
  dotnet publish src/Host/Alicia.Host.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$out/bin" -nologo -v q
  binary="$out/bin/alicia"
fi
"$binary" models random "$out/whisper-micro.bin" >/dev/null
dotnet run -c Release --project bench/Alicia.Load -- --scenario footprint --binary "$binary" --whisper "$out/whisper-micro.bin" \
  --runs "${1:-10}" --devices "${2:-1000}" --out bench/results/footprint.json
