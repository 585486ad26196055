#!/usr/bin/env bash
# `make demo`: a fresh local anvil, the deployment, the indexer API and the demo story.
# Every process started here is stopped on exit (Ctrl-C included); rerunnable.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERLEND_ANVIL_PORT="${PEERLEND_ANVIL_PORT:-8545}"
export PEERLEND_API_PORT="${PEERLEND_API_PORT:-8000}"
export PEERLEND_API_URL="http://127.0.0.1:${PEERLEND_API_PORT}"
mkdir -p .run
exec scripts/devchain.sh bash scripts/demo_inner.sh
