#!/usr/bin/env bash
# `make demo`: a fresh local anvil, the deployment, the demo story. Every process
# started here is stopped on exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/devchain.sh ape run deploy --network ethereum:local:foundry
