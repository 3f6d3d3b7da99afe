#!/usr/bin/env bash
# Fetch the models the voice pipeline's tests and CI need, from package registries only, and check them.
# Silero VAD v5 (MIT) ships inside the npm package @ricky0123/vad-web: `npm pack` it, take
# dist/silero_vad_v5.onnx into models/cache/, check its SHA-256 against models/manifest.json.
# Idempotent: a cached file with the right sum is kept, a wrong one is fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=models/cache
mkdir -p "$cache"
name=silero_vad_v5.onnx
npm_package="@ricky0123/vad-web"
npm_version="0.0.31"
expected=$(grep -A8 '"name": "silero-vad-v5"' models/manifest.json | grep -oE '"sha256": "[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')

check() { [ -f "$cache/$name" ] && [ "$(sha256sum "$cache/$name" | cut -d' ' -f1)" = "$expected" ]; }

if check; then
  echo "fetch-models: $cache/$name present, SHA-256 ok"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-models: npm is needed (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "$npm_package@$npm_version" >/dev/null )
tar -xzf "$work"/*.tgz -C "$work" "package/dist/$name"
actual=$(sha256sum "$work/package/dist/$name" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
  echo "fetch-models: $name from $npm_package@$npm_version has SHA-256 $actual, expected $expected" >&2
  exit 1
fi
mv "$work/package/dist/$name" "$cache/$name"
echo "fetch-models: $cache/$name fetched from npm $npm_package@$npm_version, SHA-256 ok"
