#!/usr/bin/env bash
# Quick start, command 2: install what the tests need (Mosquitto and its clients for the external-broker suite,
# espeak-ng, the Silero VAD model and Chromium for the voice tests),
# then run every test project of the solution. Ends with one summary line: N passed, N failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_dotnet
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || apt_install mosquitto
# Third-party clients the interop tests drive: mosquitto_pub and mosquitto_sub.
command -v mosquitto_pub >/dev/null 2>&1 || apt_install mosquitto-clients
# The voice tests speak test phrases with espeak-ng and run the real Silero VAD model (from npm).
command -v espeak-ng >/dev/null 2>&1 || apt_install espeak-ng
command -v npm >/dev/null 2>&1 || apt_install npm
# The browser test streams docs/voice-websocket.html's (fake) microphone from headless Chromium.
[ -x /usr/bin/chromium ] || apt_install chromium
scripts/fetch-models.sh
# A Mosquitto installed as a service would hold 1883; the tests use their own ports, so leave it.

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Alicia.slnx -c Release -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -E '^\s*(Passed|Failed)!' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^\s*(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+),.*/\1/' | awk '{s+=$1} END {print s+0}')
skipped=$(grep -E '^\s*(Passed|Failed)!' "$log" | sed -E 's/.*Skipped: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "$status" -eq 0 ] && [ "${passed:-0}" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
