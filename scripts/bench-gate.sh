#!/usr/bin/env bash
# CI allocation gate: runs the hot-path BenchmarkDotNet suites in process with a minimal job (1 warm-up and
# 1 measured iteration of 2,048 operations: enough for MemoryDiagnoser's bytes per operation, not for
# timings), exports JSON, and fails when a benchmark in bench/allocation-budgets.json allocates more than
# its budget twice in a row (measured again before failing) or did not run. Never gates on time.
# Usage: scripts/bench-gate.sh [results folder]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_dotnet

out=${1:-$(mktemp -d)}
mkdir -p "$out"
rm -rf "$out/results"
# The VAD benchmark needs the Silero model (CI's scripts/test.sh fetched it already: then this only checks its sum).
scripts/fetch-models.sh
dotnet build bench/Alicia.Benchmarks/Alicia.Benchmarks.csproj -c Release -nologo -v q
dotnet build bench/Alicia.AllocationGate/Alicia.AllocationGate.csproj -c Release -nologo -v q
(cd bench/Alicia.Benchmarks && dotnet bin/Release/net10.0/Alicia.Benchmarks.dll \
  --filter '*EnvelopeBenchmarks*' '*DispatchBenchmarks*' '*TopicBenchmarks*' '*RegistryBenchmarks.Resolve*' '*RegistryBenchmarks.Live*' '*RegistryBenchmarks.Register_update*' '*RegistryBenchmarks.Register_and_remove*' '*BrokerTransportBenchmarks*' \
  '*VadBenchmarks.SileroVadProcess*' '*RouterBenchmarks*' '*SpeechBenchmarks.Phonemize*' '*SpeechBenchmarks.Ids*' \
  --inProcess --memory --exporters json --artifacts "$out" \
  --warmupCount 1 --iterationCount 1 --invocationCount 2048 --unrollFactor 16 >"$out/bench.log" 2>&1) \
  || { tail -50 "$out/bench.log"; echo "benchmarks failed (log: $out/bench.log)" >&2; exit 1; }
# Speech per sentence (Piper on the random-weight voice, espeak-ng: ~0.1-2 ms each, tens of KB of PCM) with 64
# operations instead of 2,048, so the gate stays short; amortised one-time bytes are noise beside the PCM. Its report
# lands inside results/ (the first run's SpeechBenchmarks report has the same name), where the checker looks.
(cd bench/Alicia.Benchmarks && dotnet bin/Release/net10.0/Alicia.Benchmarks.dll \
  --filter '*SpeechBenchmarks.Piper*' '*SpeechBenchmarks.Espeak*' \
  --inProcess --memory --exporters json --artifacts "$out/results/per-sentence" \
  --warmupCount 1 --iterationCount 1 --invocationCount 64 --unrollFactor 1 >"$out/bench-speech.log" 2>&1) \
  || { tail -50 "$out/bench-speech.log"; echo "speech benchmarks failed (log: $out/bench-speech.log)" >&2; exit 1; }
gate() { dotnet bench/Alicia.AllocationGate/bin/Release/net10.0/Alicia.AllocationGate.dll bench/allocation-budgets.json "$@"; }
status=0
gate "$out/results" | tee "$out/gate.txt" || status=$?
[ "$status" -eq 1 ] || exit "$status"
# Over budget: measured once more before failing. Bytes a runtime thread allocated during the one measured iteration
# (the byte count is the process's) do not repeat; an allocation per operation does. Missing benchmarks fail at once.
mapfile -t over < <(awk -F'|' '$5 ~ /OVER/ { gsub(/ /, "", $2); print $2 }' "$out/gate.txt")
if [ "${#over[@]}" -eq 0 ] || grep -q '| MISSING |' "$out/gate.txt"; then exit 1; fi
echo "over budget in this run: ${over[*]}; measuring them once more"
(cd bench/Alicia.Benchmarks && dotnet bin/Release/net10.0/Alicia.Benchmarks.dll --filter "${over[@]}" \
  --inProcess --memory --exporters json --artifacts "$out/retry" \
  --warmupCount 1 --iterationCount 1 --invocationCount 2048 --unrollFactor 16 >"$out/bench-retry.log" 2>&1) \
  || { tail -50 "$out/bench-retry.log"; echo "benchmarks failed (log: $out/bench-retry.log)" >&2; exit 1; }
# The second measurement stands for the benchmarks it ran (reports are read in argument order, later ones win).
gate "$out/results" "$out/retry"
