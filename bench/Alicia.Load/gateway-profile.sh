#!/usr/bin/env bash
# Profiles the gateway scenario with perf: 1,000 signing devices in a child process, the gateway on, flat out; records the
# engine process and the devices child side by side for 8 s of the measured phase and writes a summary (by shared object,
# by CPU, Ed25519 by thread, the 10 ms windows with Ed25519 on both CPUs at once, top symbols) to the file given.
# Extra arguments go to the load tool (e.g. --engine-cores 1). GATEWAY=off profiles the gateway off (the engine's bus
# verifies); KEEP=DIR keeps the perf data there. Run from bench/Alicia.Load after `dotnet build -c Release`.
# Usage: ./gateway-profile.sh OUT.txt [load tool options]
set -eu  # no pipefail: `| head` closes pipes early on purpose
out=${1:?usage: $0 OUT.txt [load tool options]}; shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here"
# Results of a run with perf attached go to the temp folder, not bench/results: perf slows the process it samples.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 timeout 300 dotnet bin/Release/net10.0/Alicia.Load.dll --scenario gateway --gateway "${GATEWAY:-on}" \
  --devices 1000 --qos 1 --duration 14 --warmup 20 --devices-process child --results "$work" "$@" > "$work/run.log" 2>&1 &
runner=$!
for _ in $(seq 1 240); do grep -q "warm-up:" "$work/run.log" && break; sleep 0.5; done
sleep 3
engine=$(pgrep -f "^dotnet bin/Release/net10.0/Alicia.Load.dll --scenario gateway" | head -1)
child=$(pgrep -P "$engine" -f "gateway-devices-child" | head -1)
start=$(cat /proc/loadavg)
perf record -F 499 -g --sample-cpu -o "$work/engine.data" -p "$engine" -- sleep 8 2>> "$work/perf.log" &
first=$!
perf record -F 499 -g --sample-cpu -o "$work/child.data" -p "$child" -- sleep 8 2>> "$work/perf.log"
wait "$first"
end=$(cat /proc/loadavg)
wait "$runner"
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work/engine.data" "$work/child.data" "$KEEP/"; fi
report() { perf report -i "$1" --no-children --stdio -g none "${@:2}" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
{
  echo "# perf record -F 499 -g --sample-cpu, 8 s, engine process and devices child side by side, 3 s into the measured phase of:"
  echo "# DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet bin/Release/net10.0/Alicia.Load.dll --scenario gateway --gateway ${GATEWAY:-on} --devices 1000 --qos 1 --duration 14 --warmup 20 --devices-process child $*"
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load average at the start / end of the recording: $start / $end"
  echo "# The run (perf attached): $(grep -m1 '\] sent ' "$work/run.log" | sed 's/^\[[^]]*\] //')"
  echo "# Samples per CPU (499 Hz x 8 s = 3,992 for a core kept busy the whole time), engine:"
  report "$work/engine.data" -n --sort cpu | sed 's/^/#   /'
  echo "# devices child:"
  report "$work/child.data" -n --sort cpu | sed 's/^/#   /'
  echo
  echo "## ENGINE process by shared object (libsodium = Ed25519 verification at the gateway, and the verified mark's BLAKE2b; libcrypto = the mark's HMAC-SHA256 before it became BLAKE2b)"
  report "$work/engine.data" --sort dso | head -10
  echo
  echo "## ENGINE by shared object and CPU"
  report "$work/engine.data" --sort dso,cpu | head -8
  echo
  echo "## ENGINE Ed25519 (libsodium) samples by thread"
  report "$work/engine.data" --sort dso,pid | grep libsodium | head -16
  echo
  echo "## ENGINE: 10 ms windows with Ed25519 on CPU 0 and CPU 1 at once"
  perf script -i "$work/engine.data" -F tid,cpu,time,ip,dso 2>/dev/null | awk -f "$here/verify-overlap.awk"
  echo
  echo "## ENGINE inclusive (callers' share, --children): the gateway's hook, verification, the engine bus's receive, the verified mark"
  report "$work/engine.data" --children --sort sym | grep -E "SecurityGateway::OnPublishing|EnvelopeVerifier::Verify|AliciaBus::OnMessageReceivedAsync|VerifiedMark::|IngressVerifier::Check" | cut -c1-160
  echo
  echo "## ENGINE top symbols (libsodium's are unnamed addresses)"
  report "$work/engine.data" --sort sym | head -30
  echo
  echo "## DEVICES CHILD by shared object (libsodium = Ed25519 signing)"
  report "$work/child.data" --sort dso | head -8
  echo
  echo "## DEVICES CHILD top symbols"
  report "$work/child.data" --sort sym | head -15
} > "$out"
echo "profile summary: $out"
