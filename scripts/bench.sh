#!/usr/bin/env bash
# The main job: set up, build, and run `vkattn bench` on the default device.
# Extra arguments go to vkattn bench (e.g. --json bench.json --csv bench.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/samples/vkattn bench "$@"
